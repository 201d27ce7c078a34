// cppnart view: the page. Plain script, no build step, nothing fetched from outside this server.
//
// Coordinate CPPNs are drawn by the WebGL2 fragment shader the server writes from the model's
// weights (cppnart/graph/glsl.py); the weights arrive as one R32F texture, z and the view as
// uniforms, so a slider move costs one draw. Other models, and browsers without WebGL2, show
// frames the server renders with onnxruntime, as do software WebGL renderers. URL options: ?size=WxH
// fixes the canvas size in pixels (tests, benches), ?gl=0 forces server frames, ?gl=1 the shader
// even on software WebGL, ?model=NAME&seed=N opens that model, ?tile=1 with the tile toggle on.
//
// The tile toggle shows the model's seamless tile (cppnart/render/seamless.py, chosen by the
// server: a torus front for random CPPNs, drawn by its shader; reflection for other models, by
// server frames) three by three: the tile is drawn once, at a third of the window, and copied
// nine times into the 2D canvas, so what shows at the copies' edges is the tile's own wrap.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const fixedSize = parseSize(params.get("size") || "");
const TWO_PI = 2 * Math.PI;
// The server writes its random token into the page; every /api/ call carries it (the header, or
// `token=` where a request cannot set headers: <img src>, sendBeacon). Other origins cannot read it.
const TOKEN = document.querySelector('meta[name="cppnart-token"]').content;

const state = {
  name: null, // catalogue name
  info: null, // /api/model answer
  seed: 0, // weights seed (presets); render's --seed
  z: new Float32Array(0),
  zSeed: null, // the seed z was drawn from, or null once a slider moved it
  zoom: 1,
  center: [0, 0],
  mode: "none", // "gl" | "server"
  frames: 0,
  playing: false,
  speed: 1,
  poster: false,
  tile: false, // the tile toggle: the seamless tile, shown 3x3
  tileKey: null, // the tile canvas (size and zoom) the loaded torus shader was built for
};

let gl = null;
let program = null;
let uniforms = {};
let weightTexture = null;
const frameWaiters = [];

function parseSize(text) {
  const m = /^(\d+)\s*[xX]\s*(\d+)$/.exec(text.trim());
  return m ? [parseInt(m[1], 10), parseInt(m[2], 10)] : null;
}

function say(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
}

function withToken(path) {
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`;
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), "X-Cppnart-Token": TOKEN };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error || message;
    } catch (_) {
      /* not JSON: keep the status line */
    }
    throw new Error(message);
  }
  return response;
}

function query(extra = {}) {
  const q = new URLSearchParams({ model: state.name, ...extra });
  if (state.info && state.info.from_preset) q.set("seed", String(state.seed));
  return q;
}

// ---- canvas size -------------------------------------------------------------------------
function canvasSize() {
  if (fixedSize) return fixedSize;
  const dpr = window.devicePixelRatio || 1;
  return [Math.max(1, Math.round(innerWidth * dpr)), Math.max(1, Math.round(innerHeight * dpr))];
}

function tileSize() {
  // One copy of the tile: a third of the window each way (the 3x3 mosaic fills it).
  const [w, h] = canvasSize();
  return [Math.max(1, Math.floor(w / 3)), Math.max(1, Math.floor(h / 3))];
}

function fitCanvases() {
  const [w, h] = canvasSize();
  const [tw, th] = tileSize();
  // With the tile on, the GL canvas draws one tile (hidden) and the 2D canvas shows it 3x3.
  const sizes = state.tile ? [[tw, th], [3 * tw, 3 * th]] : [[w, h], [w, h]];
  [$("gl"), $("cpu")].forEach((canvas, i) => {
    const [cw, ch] = sizes[i];
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
    }
    canvas.style.width = fixedSize ? `${cw}px` : "100%";
    canvas.style.height = fixedSize ? `${ch}px` : "100%";
  });
}

function shownCanvas() {
  return state.mode === "gl" && !state.tile ? $("gl") : $("cpu");
}

function paintMosaic(tile) {
  // The tile, copied three by three into the 2D canvas (1:1 when it is the GL canvas).
  const canvas = $("cpu");
  const [tw, th] = [canvas.width / 3, canvas.height / 3];
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  for (let row = 0; row < 3; row++) for (let col = 0; col < 3; col++) ctx.drawImage(tile, col * tw, row * th, tw, th);
}

// ---- WebGL2 ------------------------------------------------------------------------------
const VERTEX = `#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

function initGL() {
  if (params.get("gl") === "0") return "server frames asked for (?gl=0)";
  gl = $("gl").getContext("webgl2", { preserveDrawingBuffer: true, antialias: false, alpha: false });
  if (!gl) return "this browser has no WebGL2";
  // Software WebGL (SwiftShader, llvmpipe) draws this shader ~50x slower than onnxruntime renders
  // the frame on the server (bench/view.py): use server frames there unless ?gl=1 asks for the shader.
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  if (/swiftshader|llvmpipe|softpipe|software/i.test(renderer) && params.get("gl") !== "1") {
    gl = null;
    return `software WebGL (${renderer.slice(0, 60)}) is slower than the server; ?gl=1 forces the shader`;
  }
  gl.bindVertexArray(gl.createVertexArray());
  return null;
}

function compile(fragment) {
  const shader = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const p = gl.createProgram();
  gl.attachShader(p, shader(gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fragment));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`shader link: ${gl.getProgramInfoLog(p)}`);
  const names = ["u_weights", "u_z", "u_zoom", "u_center", "u_size"];
  uniforms = Object.fromEntries(names.map((n) => [n, gl.getUniformLocation(p, n)]));
  return p;
}

function upload(data, width, height) {
  if (!weightTexture) weightTexture = gl.createTexture();
  gl.activeTexture(gl.TEXTURE0);
  gl.bindTexture(gl.TEXTURE_2D, weightTexture);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, width, height, 0, gl.RED, gl.FLOAT, data);
  for (const k of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, k, gl.NEAREST);
}

function drawGL() {
  const [w, h] = [$("gl").width, $("gl").height];
  gl.viewport(0, 0, w, h);
  gl.useProgram(program);
  gl.uniform1i(uniforms.u_weights, 0);
  gl.uniform1fv(uniforms.u_z, state.z);
  gl.uniform1f(uniforms.u_zoom, state.zoom);
  gl.uniform2f(uniforms.u_center, state.center[0], state.center[1]);
  gl.uniform2f(uniforms.u_size, w, h);
  gl.drawArrays(gl.TRIANGLES, 0, 3);
  if (state.tile) paintMosaic($("gl"));
}

// ---- server frames -----------------------------------------------------------------------
let serverBusy = false;
let serverAgain = false;

async function drawServer() {
  if (serverBusy) {
    serverAgain = true;
    return;
  }
  serverBusy = true;
  try {
    const canvas = $("cpu");
    // One frame or, with the tile on, one tile (a third of the canvas each way), which the server
    // renders as the model's seamless tile of that size (tile=1).
    const [cw, ch] = state.tile ? [canvas.width / 3, canvas.height / 3] : [canvas.width, canvas.height];
    // A server frame costs a full onnxruntime render: ask for at most ~1 Mpx and let the canvas scale it.
    const shrink = Math.max(1, Math.sqrt((cw * ch) / 1048576));
    const w = Math.max(1, Math.round(cw / shrink));
    const h = Math.max(1, Math.round(ch / shrink));
    const extra = { width: w, height: h, ...viewParams(), z: Array.from(state.z).join(",") };
    if (state.tile) extra.tile = "1";
    const blob = await (await api(`/api/frame?${query(extra)}`)).blob();
    const image = await createImageBitmap(blob);
    if (state.tile) {
      paintMosaic(image);
    } else {
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    }
  } catch (e) {
    say(e.message);
  } finally {
    serverBusy = false;
  }
  if (serverAgain) {
    serverAgain = false;
    await drawServer();
  }
}

// ---- drawing -----------------------------------------------------------------------------
let drawPending = false;

function requestDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(frame);
}

async function frame() {
  drawPending = false;
  if (!state.info) return;
  fitCanvases();
  if (state.mode === "gl" && state.tile && state.tileKey !== tileKey()) await reloadTileShader();
  if (state.mode === "gl") drawGL();
  else {
    await drawServer();
    // A frame already in flight draws the latest state after it: wait for that one too.
    while (serverBusy) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  state.frames += 1;
  while (frameWaiters.length) frameWaiters.shift()();
  if (state.playing) {
    animateStep();
    requestDraw();
  }
}

function viewParams() {
  return { zoom: String(state.zoom), cx: String(state.center[0]), cy: String(state.center[1]) };
}

// ---- model -------------------------------------------------------------------------------
function tileKey() {
  // What a torus tile's periods follow: the tile's size (its aspect) and the zoom.
  return `${tileSize().join("x")}@${state.zoom}`;
}

function tileQuery(q) {
  // The tile's canvas, for /api/model and /api/weights with tile=1 (the server builds the tile of it).
  const [w, h] = tileSize();
  const t = new URLSearchParams(q);
  for (const [k, v] of Object.entries({ tile: "1", width: w, height: h, ...viewParams() })) t.set(k, String(v));
  return t;
}

async function loadShader(info, q) {
  // Compile the model's shader and upload its weights; the problem's words when it cannot.
  if (!info.shader || !gl) return false;
  program = compile(info.shader);
  const data = await (await api(`/api/weights?${q}`)).arrayBuffer();
  upload(new Float32Array(data), info.texture[0], info.texture[1]);
  return true;
}

async function reloadTileShader() {
  // The zoom or the window changed the torus' periods: the server builds the tile's shader again.
  const key = tileKey();
  const q = tileQuery(query());
  try {
    const info = await (await api(`/api/model?${q}`)).json();
    if (await loadShader(info, q)) state.tileKey = key;
  } catch (e) {
    say(e.message);
    state.tileKey = key; // not again for the same canvas
  }
}

const TILINGS = {
  torus: "tiles on a torus: its coordinates go round one, so the network keeps its look",
  reflect: "tiles by reflection: its inputs cannot change, so the picture is mirrored at the view's centre",
};

function showTiling(info) {
  const box = $("tile");
  box.disabled = !info.tiling;
  if (!info.tiling) state.tile = box.checked = false;
  $("tile-note").textContent = info.tiling
    ? `${state.tile ? "3x3 copies of the tile: " : ""}${TILINGS[info.tiling]}`
    : "draws a fixed-size image, not a function of coordinates: it cannot tile";
}

async function loadModel(name, seed, z = null, zSeed = undefined) {
  const q = new URLSearchParams({ model: name });
  if (seed !== null && seed !== undefined) q.set("seed", String(seed));
  let info = await (await api(`/api/model?${q}`)).json();
  showTiling(info);
  let shaderQuery = q;
  if (state.tile) {
    shaderQuery = tileQuery(q);
    info = await (await api(`/api/model?${shaderQuery}`)).json();
  }
  let mode = "server";
  let why = glProblem || "this model is not a coordinate CPPN cppnart built; frames come from the server";
  if (state.tile && info.tile === "reflect") why = glProblem || "a reflection tile is rendered by the server";
  try {
    if (await loadShader(info, shaderQuery)) mode = "gl";
  } catch (e) {
    why = e.message;
  }
  state.name = name;
  state.info = info;
  state.seed = info.seed ?? 0;
  state.mode = mode;
  state.tileKey = state.tile ? tileKey() : null;
  $("gl").hidden = mode !== "gl" || state.tile;
  $("cpu").hidden = mode === "gl" && !state.tile;
  $("mode").textContent = mode === "gl" ? "drawn by a WebGL2 shader of the model's weights" : `server frames: ${why}`;
  $("model").value = name;
  $("seed").value = String(state.seed);
  $("seed-row").hidden = !info.from_preset;
  const colour = info.channels === 1 ? "greyscale" : "colour";
  $("facts").textContent = `${info.label} · ${info.kind} · z ${info.z_dim} (${info.z_prior}) · ${colour}`;
  if (z) {
    setZ(z, zSeed === undefined ? null : zSeed);
  } else {
    await drawZ(info.from_preset ? state.seed : 0);
  }
  buildSliders();
  requestDraw();
  return info;
}

async function drawZ(zSeed) {
  const answer = await (await api(`/api/z?${query({ zseed: String(zSeed) })}`)).json();
  setZ(answer.z, zSeed);
}

function setZ(values, zSeed) {
  state.z = Float32Array.from(values);
  state.zSeed = zSeed;
  syncSliders();
  updateCommand();
  requestDraw();
}

// ---- sliders -----------------------------------------------------------------------------
function zRange() {
  return state.info && state.info.z_prior === "normal" ? 3 : 1;
}

function buildSliders() {
  const box = $("sliders");
  box.textContent = "";
  const range = zRange();
  state.z.forEach((value, k) => {
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.textContent = `z${k}`;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -range, max: range, step: 0.001, value });
    input.dataset.k = String(k);
    const out = document.createElement("output");
    out.textContent = value.toFixed(3);
    input.addEventListener("input", () => {
      state.z[k] = parseFloat(input.value);
      state.zSeed = null;
      out.textContent = state.z[k].toFixed(3);
      updateCommand();
      requestDraw();
    });
    label.append(name, input, out);
    box.append(label);
  });
}

function syncSliders() {
  const inputs = $("sliders").querySelectorAll("input");
  if (inputs.length !== state.z.length) return;
  inputs.forEach((input, k) => {
    input.value = String(state.z[k]);
    input.nextSibling.textContent = state.z[k].toFixed(3);
  });
}

// ---- recipe: the `cppnart render` command, and z.npy ---------------------------------------
function shellQuote(text) {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function posterSize() {
  return parseSize($("poster-size").value) || canvasSize();
}

function zFromSeed() {
  if (state.zSeed === null) return false;
  return state.info.from_preset ? state.zSeed === state.seed : true;
}

function commandLine() {
  const info = state.info;
  const [w, h] = posterSize();
  const parts = ["cppnart render", shellQuote(info.source)];
  if (info.from_preset) parts.push(`--seed ${state.seed}`);
  else if (state.zSeed !== null) parts.push(`--seed ${state.zSeed}`);
  if (!zFromSeed()) parts.push("--z z.npy");
  parts.push(`--res ${w}x${h}`);
  if (state.zoom !== 1) parts.push(`--zoom ${state.zoom}`);
  if (state.center[0] !== 0 || state.center[1] !== 0) parts.push(`--center ${state.center[0]},${state.center[1]}`);
  const ss = parseInt($("poster-ss").value, 10);
  if (ss > 1) parts.push(`--supersample ${ss}`);
  if (state.tile) parts.push("--tile");
  parts.push(`-o ${shellQuote(`${info.label}-${info.from_preset ? state.seed : "z"}.png`)}`);
  return parts.join(" ");
}

function npy(values) {
  // NumPy's .npy v1.0: magic, version, header length, a Python dict literal padded to 64 bytes.
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const bytes = new Uint8Array(10 + header.length + 4 * values.length);
  bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 255, header.length >> 8]);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const floats = new DataView(bytes.buffer, 10 + header.length);
  values.forEach((v, i) => floats.setFloat32(4 * i, v, true));
  return new Blob([bytes], { type: "application/octet-stream" });
}

let zUrl = null;
let commandTimer = null;

function updateCommand() {
  if (!state.info) return;
  $("command").textContent = commandLine();
  // The z.npy link is rebuilt at most every 200 ms: sliders and animation move z every frame.
  if (commandTimer) return;
  commandTimer = setTimeout(() => {
    commandTimer = null;
    const link = $("z-file");
    link.hidden = zFromSeed();
    if (!link.hidden) {
      if (zUrl) URL.revokeObjectURL(zUrl);
      zUrl = URL.createObjectURL(npy(Array.from(state.z)));
      link.href = zUrl;
    }
  }, 200);
}

// ---- animate: slerp between random latents, eased as `cppnart morph` does ------------------
const anim = { from: null, to: null, start: 0 };

function randomZ() {
  const n = state.z.length;
  if (state.info.z_prior !== "normal") return Array.from({ length: n }, () => Math.random() * 2 - 1);
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(TWO_PI * Math.random()));
}

function ease(p) {
  return (1 - Math.cos(Math.min(1, Math.max(0, p)) * Math.PI)) / 2; // morph's "smooth"
}

function slerp(a, b, t) {
  const norm = (v) => Math.hypot(...v);
  const na = norm(a);
  const nb = norm(b);
  if (na < 1e-12 || nb < 1e-12) return a.map((v, i) => v + (b[i] - v) * t);
  const ua = a.map((v) => v / na);
  const ub = b.map((v) => v / nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, ua.reduce((s, v, i) => s + v * ub[i], 0))));
  let dir;
  if (omega < 1e-6 || Math.PI - omega < 1e-6) {
    dir = ua.map((v, i) => v + (ub[i] - v) * t);
    const nd = norm(dir) || 1;
    dir = dir.map((v) => v / nd);
  } else {
    dir = ua.map((v, i) => (Math.sin((1 - t) * omega) * v + Math.sin(t * omega) * ub[i]) / Math.sin(omega));
  }
  const length = na + (nb - na) * t;
  return dir.map((v) => v * length);
}

function animateStep() {
  const now = performance.now();
  const seconds = 2.5 / state.speed;
  if (!anim.to) Object.assign(anim, { from: Array.from(state.z), to: randomZ(), start: now });
  let p = (now - anim.start) / (seconds * 1000);
  if (p >= 1) {
    Object.assign(anim, { from: anim.to, to: randomZ(), start: now });
    p = 0;
  }
  state.z = Float32Array.from(slerp(anim.from, anim.to, ease(p)));
  state.zSeed = null;
  syncSliders();
  updateCommand();
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "pause" : "play";
  if (on) {
    anim.to = null;
    requestDraw();
  }
}

// ---- zoom and pan: wheel, drag, pinch ----------------------------------------------------
function planeAt(px, py, wrap = false) {
  // The plane point under a pointer; with the tile on, in the copy's frame (``wrap``: in the copy
  // under the pointer, for zooming about it; otherwise the first copy's, continued, for drags).
  const canvas = shownCanvas();
  const rect = canvas.getBoundingClientRect();
  let x = ((px - rect.left) * canvas.width) / rect.width;
  let y = ((py - rect.top) * canvas.height) / rect.height;
  const [w, h] = state.tile ? [canvas.width / 3, canvas.height / 3] : [canvas.width, canvas.height];
  if (state.tile && wrap) [x, y] = [((x % w) + w) % w, ((y % h) + h) % h];
  const half = Math.min(w, h) / 2;
  return [(x - w / 2) / half / state.zoom + state.center[0], (y - h / 2) / half / state.zoom + state.center[1]];
}

function zoomAbout(px, py, factor) {
  const before = planeAt(px, py, true);
  state.zoom = Math.min(1e6, Math.max(1e-4, state.zoom * factor));
  const after = planeAt(px, py, true);
  state.center = [state.center[0] + before[0] - after[0], state.center[1] + before[1] - after[1]];
  updateCommand();
  requestDraw();
}

const pointers = new Map();

function onPointerDown(event) {
  event.target.setPointerCapture(event.pointerId);
  pointers.set(event.pointerId, [event.clientX, event.clientY]);
}

function onPointerMove(event) {
  if (!pointers.has(event.pointerId)) return;
  const [ox, oy] = pointers.get(event.pointerId);
  if (pointers.size === 1) {
    const a = planeAt(ox, oy);
    const b = planeAt(event.clientX, event.clientY);
    state.center = [state.center[0] + a[0] - b[0], state.center[1] + a[1] - b[1]];
    pointers.set(event.pointerId, [event.clientX, event.clientY]);
    updateCommand();
    requestDraw();
  } else if (pointers.size === 2) {
    const other = [...pointers.entries()].find(([id]) => id !== event.pointerId)[1];
    const before = Math.hypot(ox - other[0], oy - other[1]);
    const after = Math.hypot(event.clientX - other[0], event.clientY - other[1]);
    pointers.set(event.pointerId, [event.clientX, event.clientY]);
    if (before > 0 && after > 0) zoomAbout((event.clientX + other[0]) / 2, (event.clientY + other[1]) / 2, after / before);
  }
}

function onPointerUp(event) {
  pointers.delete(event.pointerId);
}

// ---- download, poster, contact sheet -----------------------------------------------------
function downloadView() {
  const canvas = shownCanvas();
  if (state.mode === "gl") drawGL();
  canvas.toBlob((blob) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${state.info.label}-${state.info.from_preset ? state.seed : "view"}.png`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }, "image/png");
}

async function renderPoster() {
  const size = parseSize($("poster-size").value);
  if (!size) {
    say(`poster size '${$("poster-size").value}' is not WIDTHxHEIGHT; write it like 2880x1800`);
    return;
  }
  const body = {
    model: state.name,
    seed: state.info.from_preset ? state.seed : null,
    z: Array.from(state.z),
    zseed: state.zSeed, // names a model file's poster as `cppnart render MODEL --seed ZSEED` does
    width: size[0],
    height: size[1],
    supersample: parseInt($("poster-ss").value, 10) || 1,
    tile: state.tile, // the seamless tile, as `cppnart render --tile`
    ...viewParams(),
  };
  $("poster-file").hidden = true;
  try {
    await api("/api/poster", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    say(e.message);
    return;
  }
  state.poster = true;
  say(`rendering a ${size[0]}x${size[1]} poster on the server`, true);
  $("poster-progress").hidden = false;
  $("poster-cancel").hidden = false;
  pollPoster();
}

async function pollPoster() {
  let job;
  try {
    job = await (await api("/api/poster")).json();
  } catch (e) {
    say(e.message);
    state.poster = false;
    return;
  }
  $("poster-progress").value = job.progress || 0;
  if (job.state === "running") {
    setTimeout(pollPoster, 250);
    return;
  }
  state.poster = false;
  $("poster-progress").hidden = true;
  $("poster-cancel").hidden = true;
  if (job.state === "done") {
    const link = $("poster-file");
    link.href = job.url;
    link.textContent = `download ${job.name}`;
    link.download = job.name;
    link.hidden = false;
    say(`poster ready: ${job.name}`, true);
  } else if (job.state === "cancelled") {
    say("poster cancelled");
  } else {
    say(job.message || "the poster failed");
  }
}

let sheetFirst = 0;

async function showSheet(more = false) {
  const by = $("sheet-by").value;
  if (!more) sheetFirst = Math.floor(Math.random() * 100000);
  const count = 12;
  const cellsBox = $("sheet-cells");
  cellsBox.textContent = "";
  try {
    const { cells } = await (await api(`/api/sheet?${query({ first: String(sheetFirst), count: String(count) })}`)).json();
    const bySeeds = by === "seeds" && state.info.from_preset;
    for (const cell of cells) {
      const img = document.createElement("img");
      const q = new URLSearchParams({ model: state.name, width: "96", height: "96", ...viewParams(), zseed: String(cell.seed) });
      q.set("seed", String(bySeeds ? cell.seed : state.seed));
      if (!state.info.from_preset) q.delete("seed");
      img.src = withToken(`/api/frame?${q}`);
      // A busy server answers 503 (its render queue is full): ask again a little later.
      let tries = 0;
      img.addEventListener("error", () => {
        if (tries++ < 5) setTimeout(() => (img.src = withToken(`/api/frame?${q}&retry=${tries}`)), 500 * tries);
      });
      img.title = bySeeds ? `seed ${cell.seed}` : `z seed ${cell.seed}`;
      img.addEventListener("click", async () => {
        try {
          if (bySeeds) await loadModel(state.name, cell.seed, null);
          else setZ(cell.z, cell.seed);
        } catch (e) {
          say(e.message);
        }
      });
      cellsBox.append(img);
    }
    sheetFirst += count;
    $("sheet-more").hidden = false;
  } catch (e) {
    say(e.message);
  }
}

// ---- hooks for tests and benches ---------------------------------------------------------
function pixels() {
  // RGBA bytes of the last frame drawn (the drawing buffer is preserved), rows top to bottom, as base64.
  let bytes;
  let w;
  let h;
  if (shownCanvas() === $("gl")) {
    [w, h] = [$("gl").width, $("gl").height];
    const raw = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    bytes = new Uint8Array(raw.length);
    for (let row = 0; row < h; row++) bytes.set(raw.subarray((h - 1 - row) * w * 4, (h - row) * w * 4), row * w * 4);
  } else {
    const canvas = $("cpu");
    [w, h] = [canvas.width, canvas.height];
    bytes = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
  return { width: w, height: h, base64: btoa(text) };
}

function finish() {
  // Wait for the GPU: a one-pixel read blocks until the frame is done.
  if (state.mode === "gl") gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
}

window.cppnart = {
  state,
  pixels,
  nextFrame() {
    // Resolves once a frame with the current state is drawn (asks for one).
    const done = new Promise((resolve) => frameWaiters.push(resolve));
    requestDraw();
    return done;
  },
  load: (name, seed, z = null, zSeed = undefined) => loadModel(name, seed, z, zSeed),
  setView(zoom, cx, cy) {
    Object.assign(state, { zoom, center: [cx, cy] });
    updateCommand();
    requestDraw();
  },
  setZ: (z) => setZ(z, null),
  command: () => commandLine(),
  setTile: (on) => setTile(on),
  finish,
  drawNow() {
    // Draw and wait for the GPU; returns milliseconds (benches).
    const t = performance.now();
    fitCanvases();
    drawGL();
    finish();
    return performance.now() - t;
  },
};

// ---- start -------------------------------------------------------------------------------
let glProblem = null;

async function setTile(on) {
  // The tile toggle: the model again, as its seamless tile (or not), with the same latent.
  state.tile = Boolean(on) && !$("tile").disabled;
  $("tile").checked = state.tile;
  fitCanvases();
  await loadModel(state.name, state.info.from_preset ? state.seed : null, Array.from(state.z), state.zSeed);
  updateCommand();
}

async function start() {
  glProblem = initGL();
  state.tile = $("tile").checked = params.get("tile") === "1";
  fitCanvases();
  const { models, default: first, initial } = await (await api("/api/models")).json();
  for (const name of models) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    $("model").append(option);
  }
  const name = params.get("model") || first;
  const seedParam = params.get("seed");
  const seed = seedParam !== null ? parseInt(seedParam, 10) : name === first ? initial.seed : null;
  if (name === first && initial.zoom) Object.assign(state, { zoom: initial.zoom, center: initial.center });
  const z = name === first && initial.z && seedParam === null ? initial.z : null;
  await loadModel(name, seed, z, initial.zseed ?? null);

  $("model").addEventListener("change", () => loadModel($("model").value, null).catch((e) => say(e.message)));
  $("seed").addEventListener("change", () => {
    const seed = parseInt($("seed").value, 10);
    loadModel(state.name, Number.isFinite(seed) ? seed : 0).catch((e) => say(e.message));
  });
  $("new-z").addEventListener("click", () => drawZ(Math.floor(Math.random() * 2 ** 31)).catch((e) => say(e.message)));
  $("reset-view").addEventListener("click", () => window.cppnart.setView(1, 0, 0));
  $("tile").addEventListener("change", () => setTile($("tile").checked).catch((e) => say(e.message)));
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("speed").addEventListener("input", () => (state.speed = parseFloat($("speed").value)));
  $("copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(commandLine());
      say("command copied", true);
    } catch (_) {
      getSelection().selectAllChildren($("command"));
      say("select and copy the command (the clipboard is not available here)");
    }
  });
  $("download").addEventListener("click", downloadView);
  $("poster").addEventListener("click", renderPoster);
  $("poster-cancel").addEventListener("click", () => api("/api/poster/cancel", { method: "POST" }).catch((e) => say(e.message)));
  $("poster-size").addEventListener("input", updateCommand);
  $("poster-ss").addEventListener("input", updateCommand);
  $("sheet").addEventListener("click", () => showSheet(false));
  $("sheet-more").addEventListener("click", () => showSheet(true));
  $("hide").addEventListener("click", () => $("panel").classList.toggle("collapsed"));
  for (const canvas of [$("gl"), $("cpu")]) {
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      zoomAbout(e.clientX, e.clientY, Math.exp(-e.deltaY * 0.0015));
    }, { passive: false });
    canvas.addEventListener("pointerdown", onPointerDown);
    canvas.addEventListener("pointermove", onPointerMove);
    canvas.addEventListener("pointerup", onPointerUp);
    canvas.addEventListener("pointercancel", onPointerUp);
  }
  addEventListener("resize", requestDraw);
  // The page going away stops its poster (the server also stops posters nobody polls).
  addEventListener("pagehide", () => {
    if (state.poster) navigator.sendBeacon(withToken("/api/poster/cancel"));
  });
}

window.cppnart.ready = start().catch((e) => {
  say(e.message);
  throw e;
});
