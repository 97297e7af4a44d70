// `tile-widths` (docs/PROTOCOL.md): how wide this page shows each camera
// slot, in device pixels, 0 for a tile not shown (laid out at no width, or
// the whole tab hidden), so that the server forwards no video nobody sees
// (and, with simulcast, no more than a tile can show). Sent on joining, when
// a tile's width changes by more than a tenth or to or from 0, and when the
// tab is hidden or shown; at most one message every 500 ms. Empty slots
// (hidden tiles) are not reported: their next source should not wait for a
// width. An ES module imported by app.js.
import { state } from "./app.js";

const DELAY_MS = 500;
let sent = new Map();          // mid -> width the server was told
let sentTo = null;             // the client `sent` belongs to (a rejoin starts afresh)
let timer = null;
let observer = null;

function widthOf(tile) {
  if (document.visibilityState === "hidden") return 0;
  if (tile.hidden) return null;
  return Math.round(tile.getBoundingClientRect().width * (window.devicePixelRatio || 1));
}

function differs(before, now) {
  if (before === undefined) return true;
  if ((before === 0) !== (now === 0)) return true;
  return Math.abs(now - before) > before / 10;
}

function flush() {
  timer = null;
  const client = state.client;
  if (!client || !client.joined) return;
  if (client !== sentTo) { sent = new Map(); sentTo = client; }
  const widths = {};
  for (const route of client.routes("video")) {
    const tile = state.tiles.get(route.mid);
    const width = tile ? widthOf(tile) : null;
    if (width !== null && differs(sent.get(route.mid), width)) widths[route.mid] = width;
  }
  const mids = Object.keys(widths);
  if (!mids.length) return;
  for (const mid of mids) sent.set(mid, widths[mid]);
  client.request("tile-widths", { widths }).catch((err) => {
    for (const mid of mids) sent.delete(mid);
    console.warn("tile-widths", err.code || err.message);
  });
}

/** Reports the widths soon (coalesced). */
export function scheduleTileWidths() {
  if (!timer) timer = setTimeout(flush, DELAY_MS);
}

/** Watches a camera tile's size. */
export function observeTile(tile) {
  if (!("ResizeObserver" in window)) return;
  if (!observer) observer = new ResizeObserver(scheduleTileWidths);
  observer.observe(tile);
}

document.addEventListener("visibilitychange", scheduleTileWidths);
