"""``dshgan index build|add|merge|remove|info`` and ``dshgan search``: argument parsing and
printing only; the work is in ``dshgan.collection``. ``--backend milvus`` keeps the codes in a
Milvus collection instead of an index file (``collection.milvus_store``)."""

from __future__ import annotations

import argparse
import json
import sys

# the library's defaults (collection.build.DEFAULT_CHUNK, collection.files.LABEL_MODES), written
# out so that building the parser does not import torch; a test keeps them equal
DEFAULT_CHUNK = 4096
LABEL_MODES = ("auto", "folder", "none")


def add_index_parsers(sub) -> None:
    index = sub.add_parser("index", help="index a collection of your own images with a run")
    isub = index.add_subparsers(dest="index_command", required=True)

    build = isub.add_parser("build", help="encode every image under a folder into an index "
                            "file (rerun the same command to resume an interrupted build)")
    build.add_argument("run", help="a run folder holding model.pt")
    build.add_argument("--images", required=True, help="folder of images (searched recursively)")
    build.add_argument("--bits", type=int, default=None,
                       help="code length (default: the longest the run has)")
    build.add_argument("--out", default=None, help="index file to write (with --backend "
                       "milvus: optional, a local copy; the resumable chunks go beside it)")
    build.add_argument("--shard", default=None, metavar="R/N",
                       help="index only shard R of N of the file list (0-based; for separate "
                            "machines, joined by `index merge`; under torchrun each rank "
                            "takes its shard by itself)")
    build.add_argument("--labels", choices=LABEL_MODES, default="auto",
                       help="each image's parent folder as its label (auto: when the "
                            "folder has a layout training reads, e.g. <class>/<image> or "
                            "labelled/<class>/ beside unlabelled/)")
    _add_encoding_options(build)
    _add_backend_options(build)

    add = isub.add_parser("add", help="encode more images into an existing index")
    add.add_argument("index", help="index file")
    add.add_argument("--images", required=True, help="folder (or one image) to add")
    add.add_argument("--run", default=None, help="the run folder, if not where the index "
                     "recorded it (must hold the same model.pt)")
    _add_encoding_options(add)

    merge = isub.add_parser("merge", help="join index files built apart (same model and "
                            "code length) into one, in the order given")
    merge.add_argument("parts", nargs="+", metavar="PART", help="index files")
    merge.add_argument("--out", default=None, help="index file to write (optional with "
                       "--backend milvus)")
    merge.add_argument("--skip-duplicates", action="store_true",
                       help="an image path in several parts: keep the first part's copy "
                            "(default: refuse)")
    _add_backend_options(merge)

    remove = isub.add_parser("remove", help="remove images from an index")
    remove.add_argument("index", nargs="?", help="index file (none with --backend milvus)")
    remove.add_argument("--paths", nargs="+", required=True,
                        help="paths as search prints them (relative to the root), or files")
    _add_backend_options(remove)

    info = isub.add_parser("info", help="what an index holds")
    info.add_argument("index", nargs="?", help="index file (none with --backend milvus)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    _add_backend_options(info)

    search = sub.add_parser("search", help="search an index with query images")
    search.add_argument("index", help="index file (from `dshgan index build`); with "
                        "--backend milvus, the first query image")
    search.add_argument("images", nargs="*", metavar="IMAGE", help="query image files")
    search.add_argument("-k", type=int, default=10, help="results per query (default 10)")
    search.add_argument("--radius", type=int, default=None,
                        help="only results within this Hamming distance (inclusive; "
                             "still at most -k of them)")
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.add_argument("--run", default=None, help="the run folder, if not where the index "
                        "recorded it (must hold the same model.pt)")
    search.add_argument("--device", default="auto")
    _add_backend_options(search)


def _add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("file", "milvus"), default="file",
                   help="where the codes live: an index file (default) or a Milvus collection "
                        "(pip install 'dshgan[milvus]')")
    p.add_argument("--uri", default=None, help="Milvus: a local file ending in .db (Milvus "
                   "Lite) or a server, http://host:19530")
    p.add_argument("--collection", default=None, help="Milvus: the collection's name")
    p.add_argument("--token", default=None, help="Milvus: user:password or API key, if the "
                   "server asks for one")


def _milvus(args: argparse.Namespace):
    """The collection named by --uri/--collection, or None for --backend file."""
    if args.backend != "milvus":
        if getattr(args, "index", True) is None:
            raise ValueError("give the index file")
        return None
    if not args.uri or not args.collection:
        raise ValueError("--backend milvus needs --uri and --collection")
    from dshgan.collection.milvus_store import MilvusStore

    return MilvusStore.open(args.uri, args.collection, args.token)


def _add_encoding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                   help=f"images per resumable chunk (default {DEFAULT_CHUNK})")
    p.add_argument("--workers", type=int, default=None,
                   help="image decoding processes (default: one per core; 0: none)")
    p.add_argument("--on-bad-image", choices=["skip", "fail"], default="skip",
                   help="skip unreadable images and list them (default), or stop")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run_index_command(args: argparse.Namespace) -> int:
    handlers = {"build": _build, "add": _add, "merge": _merge, "remove": _remove,
                "info": _info}
    handler = _search if args.command == "search" else handlers[args.index_command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        if args.command == "index" and args.index_command in ("build", "add"):
            print("\ninterrupted: run the same command again to continue from the finished "
                  "chunks", file=sys.stderr)
        return 130
    except (FileNotFoundError, FileExistsError):
        raise
    except ImportError as err:  # an optional back end not installed: one line, how to get it
        raise RuntimeError(str(err)) from err
    except OSError as err:  # permissions, a full disk: reported by `main` like the others
        raise RuntimeError(str(err)) from err


def _report(report, verb: str) -> None:
    if report.resumed_chunks:
        print(f"resumed: {report.resumed_chunks} of {report.chunks} chunks were finished by an "
              "earlier run")
    if report.skipped_present:
        print(f"{report.skipped_present} images were already in the index (left as they are)")
    if report.index is None:  # a torchrun rank other than 0
        print(f"encoded {report.added} images of this rank's shard in {report.seconds:.1f} s; "
              "rank 0 wrote the index")
    else:
        print(f"{verb} {report.added} images ({report.index.bits}-bit codes) in "
              f"{report.seconds:.1f} s; {report.out} now holds {len(report.index)} images")
    if report.bad:
        print(f"{len(report.bad)} unreadable image(s) skipped, listed in {report.bad_list}",
              file=sys.stderr)


def _build(args: argparse.Namespace) -> int:
    from dshgan.collection.build import build_index
    from dshgan.collection.shards import parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    out, write = args.out, None
    if args.backend == "milvus" and shard is not None:
        raise ValueError("--shard writes a part: build the parts as index files, then "
                         "`dshgan index merge PARTS... --backend milvus ...` loads the whole")
    if args.backend == "milvus":
        if not args.uri or not args.collection:
            raise ValueError("--backend milvus needs --uri and --collection")
        from dshgan.collection.milvus_store import MilvusStore, import_milvus

        import_milvus()  # a missing pymilvus fails before any encoding
        out = args.out or f"{args.collection}.milvus-build"  # names the resumable chunks

        def write(index) -> None:
            if args.out:
                index.save(args.out)
            MilvusStore.write(index, args.uri, args.collection, args.token).close()
    elif out is None:
        raise ValueError("give --out (the index file to write)")
    report = build_index(args.run, args.images, out, bits=args.bits, chunk=args.chunk,
                         progress=not args.no_progress, workers=args.workers,
                         on_bad_image=args.on_bad_image, labels=args.labels,
                         device=args.device, shard=shard, write=write)
    if write is not None and report.index is not None:
        report.out = f"Milvus collection {args.collection!r} at {args.uri}"
    _report(report, "indexed")
    return 0


def _add(args: argparse.Namespace) -> int:
    from dshgan.collection.build import add_images

    report = add_images(args.index, args.images, run_dir=args.run, chunk=args.chunk,
                        progress=not args.no_progress, workers=args.workers,
                        on_bad_image=args.on_bad_image, device=args.device)
    _report(report, "added")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from dshgan.collection.merge import merge_indexes

    milvus = args.backend == "milvus"
    if milvus and (not args.uri or not args.collection):
        raise ValueError("--backend milvus needs --uri and --collection")
    if not milvus and args.out is None:
        raise ValueError("give --out (the index file to write)")
    report = merge_indexes(args.parts, args.out, skip_duplicates=args.skip_duplicates)
    if report.duplicates:
        print(f"{len(report.duplicates)} image(s) were in more than one part: kept the first "
              f"copy, e.g. {report.duplicates[:3]}", file=sys.stderr)
    where = [args.out] if args.out else []
    if milvus:
        from dshgan.collection.milvus_store import MilvusStore

        MilvusStore.write(report.index, args.uri, args.collection, args.token).close()
        where.append(f"Milvus collection {args.collection!r} at {args.uri}")
    print(f"merged {report.parts} parts, {len(report.index)} images ({report.index.bits}-bit "
          f"codes, root {report.index.root}), into {' and '.join(where)}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from dshgan.collection.image_index import ImageIndex

    store = _milvus(args)
    if store is not None:
        removed = store.remove(args.paths)
        print(f"removed {removed} images; collection {args.collection!r} now holds "
              f"{len(store)} images")
        return 0
    index = ImageIndex.load(args.index)
    removed = index.remove(args.paths)
    index.save(args.index)
    print(f"removed {removed} images; {args.index} now holds {len(index)} images")
    return 0


def _info(args: argparse.Namespace) -> int:
    from dshgan.collection.image_index import ImageIndex

    store = _milvus(args)
    info = store.info() if store is not None else ImageIndex.load(args.index).info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    fp = info["fingerprint"]
    print(f"index    {info['file']}" if store is None
          else f"index    Milvus collection {info['collection']!r} at {args.uri}")
    print(f"images   {info['images']}")
    print(f"codes    {info['bits']} bits")
    print(f"root     {info['root']}")
    print(f"run      {info['run_dir']} (model.pt sha256 {fp['model_sha256'][:16]}..., "
          f"images decoded at {fp['image_size'][0]}x{fp['image_size'][1]})")
    if store is not None:
        pass  # labels are counted from an index file only
    elif info["labels"]:
        shown = ", ".join(f"{k} {v}" for k, v in info["labels"].items())
        print(f"labels   {shown}" + (f"; unlabelled {info['unlabelled']}"
                                     if info["unlabelled"] else ""))
    else:
        print("labels   none")
    return 0


def _search(args: argparse.Namespace) -> int:
    from dshgan.collection.encoder import Encoder
    from dshgan.collection.image_index import ImageIndex

    if args.k < 1:
        raise ValueError(f"-k must be >= 1, got {args.k}")
    if args.radius is not None and args.radius < 0:
        raise ValueError(f"--radius must be >= 0, got {args.radius}")
    milvus = args.backend == "milvus"
    images = [args.index, *args.images] if milvus else args.images
    if not images:
        raise ValueError("give at least one query image")
    if milvus:
        from dshgan.collection.milvus_store import check_top_k

        check_top_k(args.k)  # refused before anything is encoded or sent
    for image in images:
        with open(image, "rb"):  # a missing query fails before the model loads
            pass
    store = _milvus(args)
    index = store if milvus else ImageIndex.load(args.index)
    encoder = Encoder.from_run(args.run or _recorded_run(index), bits=index.bits,
                               device=args.device)
    if milvus:
        from dshgan.collection.code_store import search_results
        from dshgan.collection.files import file_digest
        from dshgan.collection.fingerprint import check_same_model

        check_same_model(store.fingerprint, encoder.fingerprint,
                         f"Milvus collection {args.collection!r}")
        results = search_results(store, encoder.encode(images), args.k,
                                 [file_digest(f) for f in images])
        if args.radius is not None:  # the k nearest within the radius: a filter on the k
            results = [[r for r in rs if r.distance <= args.radius] for rs in results]
    else:
        index.use(encoder)
        results = index.search(images, k=args.k, radius=args.radius)
    if args.json:
        where = {"collection": args.collection, "uri": args.uri} if milvus else {
            "index": args.index}
        print(json.dumps({
            **where, "root": index.root, "bits": index.bits, "k": args.k,
            "radius": args.radius,
            "queries": [{"query": q, "results": [r.to_dict() for r in rs]}
                        for q, rs in zip(images, results)]}, indent=2))
        return 0
    for query, rows in zip(images, results):
        print(f"query {query}: {len(rows)} results")
        if rows:
            width = max(len(r.path) for r in rows)
            print(f"  {'rank':>4}  {'dist':>4}  {'path'.ljust(width)}  labels")
        for r in rows:
            note = "  (same file)" if r.same_file else ""
            print(f"  {r.rank:>4}  {r.distance:>4}  {r.path.ljust(width)}  "
                  f"{','.join(r.labels) or '-'}{note}")
    return 0


def _recorded_run(index) -> str:
    from pathlib import Path

    if index.run_dir is None or not Path(index.run_dir, "model.pt").exists():
        name = getattr(index, "file", None) or f"collection {index.collection!r}"
        raise FileNotFoundError(f"the run folder {index.run_dir} that {name} was built "
                                "with is not there any more: give it with --run RUN")
    return index.run_dir
