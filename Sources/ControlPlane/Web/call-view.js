// The call's extras around the tiles app.js draws: gallery or speaker view,
// badges on tiles (muted by the host, raised hand, own camera or microphone
// off), the featured speaker, the connection-quality indicator from
// getStats(), and the live-region lines for people joining and leaving.
// An ES module imported by app.js; it only defines functions.
import { state, $, nameOf, announce } from "./app.js";

// ---- gallery / speaker view ------------------------------------------------

// The speaker view features the last person the server said was speaking
// (`speaking`), else the first visible tile; the gallery shows all alike.
function featuredParticipant() {
  const visible = [...state.tiles.values()].filter((t) => !t.hidden).map((t) => t.dataset.participant);
  for (const id of state.speaking) if (id !== state.participantId && visible.includes(id)) state.lastSpeaker = id;
  if (state.lastSpeaker && visible.includes(state.lastSpeaker)) return state.lastSpeaker;
  return visible[0] || null;
}

/** Badges and the featured tile; app.js render() calls it after labelling. */
export function decorateTiles() {
  const session = state.session || {};
  const muted = session.muted || [], hands = session.handsRaised || [], micOff = session.microphoneOff || [];
  const speakerView = $("grid").classList.contains("speaker");
  const featured = speakerView ? featuredParticipant() : null;
  for (const tile of state.tiles.values()) {
    const who = tile.dataset.participant;
    setBadges(tile, who ? [
      micOff.includes(who) && !muted.includes(who) && ["mic-off", "Microphone off"],
      muted.includes(who) && ["muted", "Muted by host"],
      hands.includes(who) && ["hand", "✋ Hand raised"],
    ] : []);
    tile.classList.toggle("featured", !!who && who === featured);
  }
  const self = document.querySelector(".tile.self");
  if (self && state.local) {
    const [mic] = state.local.getAudioTracks(), [cam] = state.local.getVideoTracks();
    const me = state.participantId;
    setBadges(self, [
      (!mic || !mic.enabled) && ["mic-off", "Microphone off"],
      (!cam || !cam.enabled) && ["cam-off", "Camera off"],
      muted.includes(me) && ["muted", "Muted by host"],
      hands.includes(me) && ["hand", "✋ Hand raised"],
    ]);
  }
}

// Replaces a tile's badges with [class, text] pairs (falsy entries skipped).
function setBadges(tile, list) {
  const box = tile.querySelector(".badges");
  if (!box) return;
  const wanted = list.filter(Boolean);
  const key = wanted.map(([c]) => c).join(" ");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(...wanted.map(([cls, text]) => {
    const span = document.createElement("span");
    span.className = `badge ${cls}`;
    span.textContent = text;
    return span;
  }));
}

function setView(speaker) {
  $("grid").classList.toggle("speaker", speaker);
  $("grid").classList.toggle("gallery", !speaker);
  $("view-toggle").setAttribute("aria-pressed", String(speaker));
  decorateTiles();
}

// ---- connection quality -----------------------------------------------------

// Every QUALITY_MS the page compares two getStats() reports: the fraction of
// packets lost on what it receives, and the round-trip time of the selected
// candidate pair. Good: under 2 % and 300 ms; fair: under 8 % and 600 ms;
// poor beyond, or when the server paused video for this connection.
const QUALITY_MS = 2000;
let quality = null;

export function startQuality() {
  stopQuality();
  const run = { timer: null, previous: null };
  quality = run;
  const tick = async () => {
    if (quality !== run) return;
    const pc = state.pc;
    if (pc && pc.connectionState === "connected") {
      try { measure(run, await pc.getStats()); } catch (err) { console.warn("getStats", err.name); }
    }
    if (quality === run) run.timer = setTimeout(tick, QUALITY_MS);
  };
  run.timer = setTimeout(tick, 500);
}

export function stopQuality() {
  if (quality) clearTimeout(quality.timer);
  quality = null;
  const el = $("quality");
  el.dataset.level = "unknown";
  el.textContent = "Connection: checking…";
}

function measure(run, report) {
  let received = 0, lost = 0, rtt = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") { received += s.packetsReceived || 0; lost += Math.max(0, s.packetsLost || 0); }
    else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && typeof s.currentRoundTripTime === "number") rtt = s.currentRoundTripTime;
  });
  const previous = run.previous;
  run.previous = { received, lost };
  if (!previous) return;
  const got = received - previous.received, missed = lost - previous.lost;
  const loss = got + missed > 0 ? Math.max(0, missed) / (got + missed) : 0;
  const paused = state.client && state.client.pausedMids.length > 0;
  const rttMs = rtt === null ? null : rtt * 1000;
  let level = "good";
  if (paused || loss >= 0.08 || (rttMs !== null && rttMs >= 600)) level = "poor";
  else if (loss >= 0.02 || (rttMs !== null && rttMs >= 300)) level = "fair";
  const el = $("quality");
  el.dataset.level = level;
  el.dataset.loss = loss.toFixed(3);
  el.dataset.rtt = rttMs === null ? "" : rttMs.toFixed(0);
  el.textContent = `Connection: ${level}`;
  el.title = `${(loss * 100).toFixed(1)} % packets lost` + (rttMs === null ? "" : `, round trip ${rttMs.toFixed(0)} ms`);
}

// ---- joins and leaves -------------------------------------------------------

/** Announces who joined or left one's room, from successive rosters (the
 * first roster after joining is the baseline, not news). */
export function announceRosterChange(participants) {
  const ids = new Map(participants.filter((p) => p.participantId).map((p) => [p.participantId, p.name]));
  const before = state.knownRoster, room = state.room;
  state.knownRoster = ids;
  // A new room's roster (admitted, moved) is a baseline too: the move itself
  // is announced by session.js.
  const sameRoom = state.knownRosterRoom === room;
  state.knownRosterRoom = room;
  if (!before || !sameRoom || !state.joined || room === "waiting") return;
  for (const [id, name] of ids) if (!before.has(id) && id !== state.participantId) announce(`${name || "Someone"} joined.`);
  for (const [id, name] of before) if (!ids.has(id) && id !== state.participantId) announce(`${name || nameOf(id)} left this room.`);
}

export function wireCallView() {
  $("view-toggle").onclick = () => setView($("view-toggle").getAttribute("aria-pressed") !== "true");
}
