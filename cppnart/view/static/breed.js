// cppnart view: the breeding grid. Plain script loaded after viewer.js (it uses api, say, withToken,
// loadModel, gl and glProblem from there); the server's library decides every generation
// (cppnart/render/breeding.py), this page only asks and draws.
//
// Children are drawn by their own WebGL2 shader (cppnart/graph/genome_glsl.py: one shader per
// genome) on one hidden canvas and copied into each cell, where the viewer draws with WebGL2;
// otherwise (no WebGL2, software WebGL, ?gl=0) by server frames. ?cell=N sets the cell size.
"use strict";

const breed = {
  state: null, // /api/breed answer
  selected: new Set(), // shift-clicked children, crossed by "breed picked"
  drawn: 0, // generations drawn (tests wait on it)
  mode: "none", // "gl" | "server"
  waiters: [],
};
const CELL = Math.min(512, Math.max(32, parseInt(params.get("cell") || "128", 10) || 128));
let breedGL = null;

function note(text, ok = false) {
  // The breeding grid's own status line (the panel's is hidden behind it), and the panel's.
  say(text, ok);
  $("breed-message").textContent = text;
  $("breed-message").className = ok ? "ok" : "";
}

function breedCanvasGL() {
  // One WebGL2 canvas for every child: a page may hold only ~16 WebGL contexts.
  if (breedGL !== null) return breedGL || null;
  breedGL = false;
  if (!gl) return null; // the viewer decided: no WebGL2, or software WebGL without ?gl=1
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = CELL;
  const ctx = canvas.getContext("webgl2", { preserveDrawingBuffer: true, antialias: false, alpha: false });
  if (!ctx) return null;
  ctx.bindVertexArray(ctx.createVertexArray());
  breedGL = { canvas, gl: ctx };
  return breedGL;
}

function drawChildGL(target, source, z) {
  const { canvas, gl: g } = breedCanvasGL();
  const shader = (type, text) => {
    const s = g.createShader(type);
    g.shaderSource(s, text);
    g.compileShader(s);
    if (!g.getShaderParameter(s, g.COMPILE_STATUS)) throw new Error(`shader: ${g.getShaderInfoLog(s)}`);
    return s;
  };
  const p = g.createProgram();
  const vs = shader(g.VERTEX_SHADER, VERTEX);
  const fs = shader(g.FRAGMENT_SHADER, source);
  g.attachShader(p, vs);
  g.attachShader(p, fs);
  g.linkProgram(p);
  if (!g.getProgramParameter(p, g.LINK_STATUS)) throw new Error(`shader link: ${g.getProgramInfoLog(p)}`);
  g.viewport(0, 0, CELL, CELL);
  g.useProgram(p);
  g.uniform1fv(g.getUniformLocation(p, "u_z"), Float32Array.from(z));
  g.uniform1f(g.getUniformLocation(p, "u_zoom"), 1);
  g.uniform2f(g.getUniformLocation(p, "u_center"), 0, 0);
  g.uniform2f(g.getUniformLocation(p, "u_size"), CELL, CELL);
  g.drawArrays(g.TRIANGLES, 0, 3);
  target.getContext("2d").drawImage(canvas, 0, 0);
  for (const s of [vs, fs]) g.deleteShader(s);
  g.deleteProgram(p);
}

function childQuery(generation, child, extra = {}) {
  return new URLSearchParams({ generation: String(generation), child: String(child), ...extra });
}

async function drawChildServer(target, generation, child) {
  const q = childQuery(generation, child, { width: String(target.width), height: String(target.height) });
  for (let tries = 0; ; tries++) {
    try {
      const blob = await (await api(`/api/breed/frame?${q}`)).blob();
      target.getContext("2d").drawImage(await createImageBitmap(blob), 0, 0, target.width, target.height);
      return;
    } catch (e) {
      // A busy server (its render queue full) answers 503: ask again a little later.
      if (tries >= 5 || !/busy/.test(e.message)) throw e;
      await new Promise((resolve) => setTimeout(resolve, 300 * (tries + 1)));
    }
  }
}

async function drawChild(target, generation, child, z) {
  if (breed.mode === "gl") {
    const source = await (await api(`/api/breed/shader?${childQuery(generation, child)}`)).text();
    drawChildGL(target, source, z);
  } else {
    await drawChildServer(target, generation, child);
  }
}

// ---- asking the server -------------------------------------------------------------------
function settings() {
  return {
    what: $("breed-what").value,
    strength: parseFloat($("breed-strength").value),
    count: parseInt($("breed-count").value, 10),
  };
}

async function post(path, body = {}) {
  const answer = await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return answer.json();
}

async function change(path, body = {}) {
  try {
    await showGeneration(await post(path, body));
  } catch (e) {
    note(e.message);
  }
}

async function startBreeding() {
  // From the slider view: the model, weights seed and z shown become the first ancestor.
  const body = { model: state.name, seed: state.info.from_preset ? state.seed : null, z: Array.from(state.z), ...settings() };
  note("breeding: drawing the first generation", true);
  await change("/api/breed/start", body);
}

function pick(indices) {
  breed.selected.clear();
  return change("/api/breed/pick", { picks: indices, ...settings() });
}

// ---- drawing a generation ----------------------------------------------------------------
function link(text, title, action) {
  const a = document.createElement("a");
  a.href = "#";
  a.textContent = text;
  a.title = title;
  a.addEventListener("click", (e) => {
    e.preventDefault();
    action(a);
  });
  return a;
}

function download(generation, child, format) {
  const a = document.createElement("a");
  a.href = withToken(`/api/breed/file?${childQuery(generation, child, { format })}`);
  a.download = "";
  a.click();
}

function downloadCell(canvas, name) {
  canvas.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${name}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }, "image/png");
}

async function posterOf(generation, child) {
  const size = parseSize($("breed-poster-size").value);
  if (!size) {
    note(`poster size '${$("breed-poster-size").value}' is not WIDTHxHEIGHT; write it like 2880x1800`);
    return;
  }
  const body = { generation, child, width: size[0], height: size[1], supersample: parseInt($("poster-ss").value, 10) || 1 };
  try {
    await post("/api/breed/poster", body);
  } catch (e) {
    note(e.message);
    return;
  }
  state.poster = true;
  note(`rendering a ${size[0]}x${size[1]} poster of child ${child} on the server`, true);
  pollBreedPoster();
}

async function pollBreedPoster() {
  let job;
  try {
    job = await (await api("/api/poster")).json();
  } catch (e) {
    note(e.message);
    state.poster = false;
    return;
  }
  if (job.state === "running") {
    note(`poster ${Math.round(100 * (job.progress || 0))}%`, true);
    setTimeout(pollBreedPoster, 250);
    return;
  }
  state.poster = false;
  const out = $("breed-poster");
  if (job.state === "done") {
    out.href = job.url;
    out.download = job.name;
    out.textContent = `download ${job.name}`;
    out.hidden = false;
    note(`poster ready: ${job.name}`, true);
  } else {
    note(job.message || `poster ${job.state}`);
  }
}

async function openChild(generation, child) {
  try {
    const { model } = await post("/api/breed/open", { generation, child });
    const option = document.createElement("option");
    option.value = option.textContent = model;
    if (![...$("model").options].some((o) => o.value === model)) $("model").append(option);
    showBreeding(false);
    await loadModel(model, null);
  } catch (e) {
    note(e.message);
  }
}

function cell(s, child) {
  const box = document.createElement("figure");
  box.className = "breed-cell";
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = CELL;
  canvas.dataset.child = String(child.index);
  canvas.title = `child ${child.index}: ${child.nodes} nodes, ${child.links} links · click: breed from it · shift-click: pick several`;
  canvas.addEventListener("click", (e) => {
    if (e.shiftKey) {
      if (breed.selected.has(child.index)) breed.selected.delete(child.index);
      else breed.selected.add(child.index);
      box.classList.toggle("picked", breed.selected.has(child.index));
      updatePicked();
    } else {
      pick([child.index]);
    }
  });
  const g = s.generation;
  const tools = document.createElement("figcaption");
  tools.append(
    link("open", "open this child in the slider view", () => openChild(g, child.index)),
    link("poster", "render a poster of it on the server (at the poster size above)", () => posterOf(g, child.index)),
    link("png", "download this cell as PNG", () => downloadCell(canvas, child.name)),
    link("genome", "download its .genome.json", () => download(g, child.index, "genome")),
    link("onnx", "download its ONNX model", () => download(g, child.index, "onnx")),
    link("glsl", "download its GLSL shader", () => download(g, child.index, "glsl")),
  );
  box.append(canvas, tools);
  return { box, canvas };
}

function updatePicked() {
  const n = breed.selected.size;
  $("breed-picked").hidden = n === 0;
  $("breed-picked").textContent = n > 1 ? `cross ${n} picked` : "breed picked";
}

async function showGeneration(s) {
  breed.state = s;
  breed.selected.clear();
  updatePicked();
  if (!s.active) return;
  $("breed-title").textContent = `generation ${s.generation} of ${s.generations} · seed ${s.seed}`;
  $("breed-undo").disabled = !s.can_undo;
  $("breed-redo").disabled = !s.can_redo;
  $("breed-what").value = s.what;
  $("breed-strength").value = String(s.strength);
  $("breed-strength-value").textContent = Number(s.strength).toFixed(2);
  $("breed-count").value = String(s.count);
  $("breed-what").querySelector('option[value="latent"]').disabled = !s.latent;
  $("breed-history").href = withToken("/api/breed/history");
  const grid = $("breed-grid");
  grid.textContent = "";
  grid.style.setProperty("--cell", `${CELL}px`);
  grid.style.gridTemplateColumns = `repeat(${Math.round(Math.sqrt(s.count))}, max-content)`;
  const cells = s.children.map((child) => cell(s, child));
  grid.append(...cells.map((c) => c.box));
  $("breed-lineage").textContent = "";
  try {
    // The shader draws one child at a time; server frames are asked four at a time, within the
    // server's render gate (two rendering, eight waiting), so a generation never meets a 503.
    const draw = (i) => drawChild(cells[i].canvas, s.generation, i, s.children[i].z);
    await inTurn(cells.length, breed.mode === "gl" ? 1 : 4, draw);
    if (breed.state === s) await showLineage(s);
  } catch (e) {
    note(e.message);
  }
  if (breed.state !== s) return; // a newer generation replaced this one while it drew
  breed.drawn += 1;
  while (breed.waiters.length) breed.waiters.shift()();
}

async function inTurn(count, width, work) {
  // work(0) .. work(count - 1), at most `width` running at once.
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

async function showLineage(s) {
  // Every generation's first parent, back to the first ancestor; the ones undone (redo) dimmed.
  const strip = $("breed-lineage");
  strip.textContent = "";
  const first = Math.max(0, s.generations - 24);
  const thumbs = [];
  for (let g = first; g < s.generations; g++) {
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = 48;
    const why = s.lineage[g].picked.length ? `bred from child ${s.lineage[g].picked.join(" × ")}` : "the first ancestor";
    thumb.title = `generation ${g}: ${why}`;
    thumb.className = g === s.generation ? "current" : g > s.generation ? "ahead" : "";
    thumb.addEventListener("click", () => change("/api/breed/goto", { generation: g }));
    strip.append(thumb);
    thumbs.push([thumb, g]);
  }
  await inTurn(thumbs.length, 4, (i) => drawChildServer(thumbs[i][0], thumbs[i][1], -1));
}

function showBreeding(on) {
  $("breed").hidden = !on;
  $("panel").hidden = on;
}

async function openBreeding() {
  breed.mode = breedCanvasGL() ? "gl" : "server";
  $("breed-mode").textContent = breed.mode === "gl"
    ? "children drawn by their WebGL2 shaders"
    : `children drawn by the server: ${glProblem || "no WebGL2"}`;
  showBreeding(true);
  const s = await (await api("/api/breed")).json();
  if (s.active) await showGeneration(s);
  else await startBreeding();
}

// ---- hooks for tests ---------------------------------------------------------------------
function cellPixels(child) {
  const canvas = $("breed-grid").querySelector(`canvas[data-child="${child}"]`);
  const bytes = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let text = "";
  for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
  return { width: canvas.width, height: canvas.height, base64: btoa(text) };
}

window.cppnart.breed = {
  state: () => breed.state,
  mode: () => breed.mode,
  open: openBreeding,
  pixels: cellPixels,
  drawn: () => breed.drawn,
  nextGeneration() {
    // Resolves once the next generation asked for is drawn.
    return new Promise((resolve) => breed.waiters.push(resolve));
  },
};

// ---- start -------------------------------------------------------------------------------
window.cppnart.breedReady = window.cppnart.ready.then(async () => {
  $("breed-open").addEventListener("click", () => openBreeding().catch((e) => note(e.message)));
  $("breed-close").addEventListener("click", () => showBreeding(false));
  $("breed-undo").addEventListener("click", () => change("/api/breed/undo"));
  $("breed-redo").addEventListener("click", () => change("/api/breed/redo"));
  $("breed-again").addEventListener("click", () => change("/api/breed/again", settings()));
  $("breed-new").addEventListener("click", () => startBreeding());
  $("breed-picked").addEventListener("click", () => pick([...breed.selected]));
  $("breed-strength").addEventListener("input", () => {
    $("breed-strength-value").textContent = parseFloat($("breed-strength").value).toFixed(2);
  });
  addEventListener("keydown", (e) => {
    if ($("breed").hidden || e.target.tagName === "INPUT") return;
    if ((e.ctrlKey || e.metaKey) && e.key === "z") change(e.shiftKey ? "/api/breed/redo" : "/api/breed/undo");
  });
  const { breeding } = await (await api("/api/models")).json();
  if (breeding && params.get("breed") !== "0") await openBreeding();
});
