from dshgan.data import load_sample
from dshgan.data.example_folder import write_example_folder
from dshgan.data.sources import scan_dataset


def test_the_sample_as_a_collection_of_labelled_and_unlabelled_photos(tmp_path):
    out = write_example_folder(tmp_path / "photos", labelled_per_class=5)
    cat = scan_dataset(out)
    sample = load_sample()
    assert len(cat) == len(sample) and cat.class_names == sample.class_names
    assert int(cat.is_labelled.sum()) == 5 * sample.num_classes
    assert (cat.labels.sum(axis=0) == 5).all()
    unlabelled = [n for n, labelled in zip(cat.names, cat.is_labelled) if not labelled]
    assert all(n.startswith("unlabelled/batch-") and n.endswith(".jpg") for n in unlabelled)
