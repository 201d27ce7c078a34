// The pyramid page: OpenSeadragon on /pyramid/NAME.dzi, the recipe as the caption.
// window.cppnart.ready resolves once the first view is fully drawn (the browser tests wait on it).
"use strict";

const caption = document.getElementById("caption");
const command = document.getElementById("command");

function fail(message) {
  caption.textContent = message;
  caption.classList.add("error");
}

window.cppnart = {
  ready: (async () => {
    // The server writes its token into the page; /api/ calls carry it (other origins cannot read it).
    const token = document.querySelector('meta[name="cppnart-token"]').content;
    const answer = await fetch("/api/pyramid", { headers: { "X-Cppnart-Token": token } });
    const info = await answer.json();
    if (!answer.ok) throw new Error(info.error || answer.statusText);
    document.title = `${info.name} · cppnart view`;
    caption.textContent = info.caption;
    command.textContent = info.command || "";
    const viewer = OpenSeadragon({
      id: "osd",
      prefixUrl: "/static/openseadragon/images/",  // the vendored navigation buttons
      tileSources: info.dzi,
      showNavigator: true,  // the whole picture in a corner, the view outlined on it
      maxZoomPixelRatio: 2,  // zoom past the deepest level's pixels only a little
      visibilityRatio: 0.5,
      crossOriginPolicy: false,
    });
    window.cppnart.viewer = viewer;
    window.cppnart.info = info;
    await new Promise((resolve, reject) => {
      viewer.addHandler("open-failed", (e) => { fail(`cannot open ${info.dzi}: ${e.message}`); reject(new Error(e.message)); });
      viewer.addHandler("tile-load-failed", (e) => fail(`a tile did not load: ${e.tile.url}`));
      viewer.addHandler("open", () => {
        const item = viewer.world.getItemAt(0);
        if (item.getFullyLoaded()) resolve();
        else item.addOnceHandler("fully-loaded-change", resolve);
      });
    });
    return info;
  })().catch((err) => { fail(String(err.message || err)); throw err; }),
};
