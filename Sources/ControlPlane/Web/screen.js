// Screen sharing in the web client (docs/WEB-CLIENT.md "Screen sharing"):
// the "Share screen" button (getDisplayMedia, then CohortClient.shareScreen),
// the host's "Let everyone share screens" switch (`screen-permission`), and
// the stage: the room's shared screen shown large above the tiles. The
// stage stays dark after each change of sharer until a frame of the new
// one renders (as tiles do, docs/PROTOCOL.md `slots` `after`).
import { state, $, showMessage, announce, nameOf, render, errorText, makeVideoTile } from "./app.js";
import { CohortError } from "./cohort-client.js";

const SHARE_ERRORS = {
  "forbidden": "Only hosts can share their screen until a host lets everyone share.",
  "screen-busy": "Someone in your room is sharing a screen already. Ask them to stop first.",
};

function makeStageTile(route) {
  return makeVideoTile(route, "tile screen", $("stage"), false);
}

// The own share, previewed on the stage (the server sends nobody their own).
function ownPreview(track) {
  let tile = $("stage").querySelector(".tile.own-screen");
  if (!track) { if (tile) tile.remove(); return; }
  if (!tile) {
    tile = document.createElement("figure");
    tile.className = "tile screen own-screen";
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true; video.muted = true;
    const label = document.createElement("figcaption");
    label.className = "label";
    label.textContent = "You are sharing your screen";
    tile.append(video, label);
    $("stage").append(tile);
  }
  const video = tile.querySelector("video");
  if (!video.srcObject || video.srcObject.getVideoTracks()[0] !== track) video.srcObject = new MediaStream([track]);
}

/** Brings the stage and the share buttons up to date; called from render(). */
export function renderScreen() {
  const client = state.client;
  const route = client ? client.routes("screen")[0] : undefined;
  let showing = false;
  if (route) {
    const tile = state.tiles.get(route.mid) || makeStageTile(route);
    const source = route.source, who = (source && source.participantId) || "";
    if (who !== tile.dataset.participant) {
      tile.gate = who ? { after: typeof source.after === "number" ? source.after : null } : null;
      tile.classList.toggle("waiting", !!who);
      if (who && !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) tile.classList.remove("waiting");
      if (who) announce(`${nameOf(who)} is sharing their screen.`);
    }
    tile.dataset.participant = who;
    tile.hidden = !who;
    showing = !!who;
    // A <video> created inside the hidden stage does not start by itself.
    const video = tile.querySelector("video");
    if (who && video.paused) video.play().catch(() => {});
    if (who) {
      tile.querySelector(".label").textContent = `${nameOf(who)} (screen)`;
      tile.querySelector("video").setAttribute("aria-label", `Screen shared by ${nameOf(who)}`);
    }
  }
  const own = client ? client.screenTrack : null;
  ownPreview(own);
  $("stage").hidden = !showing && !own;
  document.body.classList.toggle("screen-shared", showing || !!own);

  const me = state.roster.find((p) => p.participantId === state.participantId);
  const host = !!me && (me.role === "host" || me.role === "co-host");
  const everyone = !!state.session && state.session.participantsMayShare === true;
  const share = $("share");
  share.hidden = !client || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia || (!host && !everyone && !own);
  share.textContent = own ? "Stop sharing" : "Share screen";
  share.setAttribute("aria-pressed", String(!!own));
  const allow = $("screen-allow");
  allow.hidden = !client || !host;
  allow.setAttribute("aria-pressed", String(everyone));
  allow.textContent = everyone ? "Only hosts share screens" : "Let everyone share screens";
}

async function toggleShare() {
  const client = state.client;
  if (!client) return;
  if (client.screenTrack) {
    await client.stopScreen().catch((err) => showMessage(errorText(err)));
    render();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
  } catch (err) {
    showMessage(err && err.name === "NotAllowedError" ? "Screen sharing was cancelled or is not allowed by the browser."
      : `Screen sharing is not available here (${(err && err.name) || "error"}).`);
    return;
  }
  const [track] = stream.getVideoTracks();
  // Text and worksheets: keep them sharp rather than smooth.
  try { track.contentHint = "detail"; } catch { /* older browsers */ }
  try {
    await client.shareScreen(track);
    showMessage("");
    announce("You are sharing your screen.");
  } catch (err) {
    track.stop();
    showMessage(err instanceof CohortError && SHARE_ERRORS[err.code] ? SHARE_ERRORS[err.code] : errorText(err));
  }
  render();
}

/** Wires the buttons; the client's `screen` events re-render (app.js listen). */
export function wireScreenShare() {
  $("share").onclick = () => { toggleShare(); };
  $("screen-allow").onclick = async () => {
    const client = state.client;
    if (!client) return;
    const allowed = !(state.session && state.session.participantsMayShare === true);
    try { await client.request("screen-permission", { allowed }); } catch (err) { showMessage(errorText(err)); }
  };
}
