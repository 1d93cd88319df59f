// The search page: one uploaded image or one indexed item ("more like this") as the query, the
// nearest images as a grid. The state that can be shared (?similar=<id>&k=<k>) lives in the URL;
// an uploaded file cannot, so its URL keeps k only (or similar=<id> when the upload is an
// indexed file). Plain JavaScript, no build step, every asset from this server.
"use strict";

const $ = (id) => document.getElementById(id);
let lastFile = null;       // the uploaded file, to search again when k changes
let hasLabels = false;

function currentK() {
  const k = parseInt($("k").value, 10);
  return Number.isFinite(k) ? Math.min(1000, Math.max(1, k)) : 10;
}

function say(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.classList.toggle("error", isError);
  m.setAttribute("role", isError ? "alert" : "status");
}

async function getJSON(response) {
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    const detail = body && body.detail;
    const text = typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : response.statusText;
    throw new Error(`${response.status}: ${text}`);
  }
  return body;
}

async function loadStats() {
  for (let attempt = 0; attempt < 120; attempt++) {
    const r = await fetch("api/stats");
    if (r.ok) {
      const s = await r.json();
      hasLabels = s.labels;
      $("index-info").textContent =
        `${s.items.toLocaleString()} images, ${s.bits}-bit codes, model ${s.fingerprint.run}`;
      return;
    }
    $("index-info").textContent = "Loading the model and the index\u2026";
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

function setURL(params, push) {
  const url = new URL(window.location.href);
  url.search = new URLSearchParams(params).toString();
  if (url.href !== window.location.href) {
    history[push ? "pushState" : "replaceState"](params, "", url);
  }
}

async function searchFile(file, push = true) {
  lastFile = file;
  const k = currentK();
  say(`Searching with ${file.name}\u2026`);
  const form = new FormData();
  form.append("image", file, file.name);
  try {
    const data = await getJSON(await fetch(`api/search?k=${k}`, { method: "POST", body: form }));
    const params = data.query.item !== null ? { similar: data.query.item, k } : { k };
    setURL(params, push);
    show(data, URL.createObjectURL(file), `Your image: ${file.name}`);
  } catch (err) {
    say(`Search failed: ${err.message}`, true);
  }
}

async function searchSimilar(id, push = true) {
  lastFile = null;
  const k = currentK();
  say(`Searching for images like item ${id}\u2026`);
  try {
    const data = await getJSON(await fetch(`api/items/${encodeURIComponent(id)}/similar?k=${k}`));
    setURL({ similar: id, k }, push);
    show(data, `api/items/${encodeURIComponent(id)}/thumbnail`, `Item ${id}: ${data.query.path}`);
  } catch (err) {
    say(`Search failed: ${err.message}`, true);
  }
}

function show(data, imageSrc, title) {
  const q = data.query;
  $("query").hidden = false;
  $("query-image").src = imageSrc;
  $("query-image").alt = `Query image: ${title}`;
  $("query-title").textContent = title;
  $("query-code").textContent = `${q.code} (${q.bits} bits)`;
  $("query-labels").textContent = q.labels && q.labels.length ? `label ${q.labels.join(", ")}` : "";
  let summary = `${data.results.length} results in ${data.took_ms.toFixed(1)} ms`;
  if (data.precision !== null) {
    summary += `; precision ${data.precision.toFixed(2)} (share of the other labelled results ` +
      "with the query's label)";
  } else if (hasLabels) {
    summary += "; precision unknown (the query has no label in this index)";
  }
  $("summary").textContent = summary;
  say("");
  const list = $("results");
  list.replaceChildren(...data.results.map(resultItem));
}

function resultItem(r) {
  const li = document.createElement("li");
  li.className = "result";
  li.dataset.id = r.id;
  const label = r.labels.length ? r.labels.join(", ") : "no label";
  const img = document.createElement("img");
  img.src = r.thumbnail;
  img.loading = "lazy";
  img.alt = `Result ${r.rank}: ${r.path}, ${label}, Hamming distance ${r.distance}`;
  const caption = document.createElement("div");
  caption.className = "caption";
  caption.innerHTML = '<span class="rank"></span> <span class="distance"></span>' +
    '<span class="label"></span><span class="path"></span>';
  caption.querySelector(".rank").textContent = `#${r.rank}`;
  caption.querySelector(".distance").textContent = `distance ${r.distance}`;
  caption.querySelector(".label").textContent = label;
  caption.querySelector(".path").textContent = r.path;
  caption.querySelector(".path").title = r.path;
  const more = document.createElement("button");
  more.type = "button";
  more.className = "more";
  more.textContent = "More like this";
  more.setAttribute("aria-label", `More like this: ${r.path}`);
  more.addEventListener("click", () => {
    searchSimilar(r.id).then(() => $("results-heading").focus());
  });
  li.append(img, caption, more);
  return li;
}

function fromURL() {
  const params = new URLSearchParams(window.location.search);
  if (params.has("k")) $("k").value = params.get("k");
  if (params.has("similar")) {
    searchSimilar(params.get("similar"), false);
  }
}

function pickFile(file) {
  if (file) searchFile(file);
}

document.addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  drop.addEventListener("click", () => $("file").click());
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); }
  });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => {
    e.preventDefault(); drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => { e.preventDefault(); pickFile(e.dataTransfer.files[0]); });
  $("file").addEventListener("change", (e) => pickFile(e.target.files[0]));
  $("search-form").addEventListener("submit", (e) => e.preventDefault());
  $("k").addEventListener("change", () => {
    const params = new URLSearchParams(window.location.search);
    if (lastFile) searchFile(lastFile, false);
    else if (params.has("similar")) searchSimilar(params.get("similar"), false);
    else setURL({ k: currentK() }, false);
  });
  window.addEventListener("popstate", fromURL);
  loadStats().then(fromURL);
});
