// Cohort web client: no build step. Joins with the token from the link
// through cohort-client.js (the offer, signalling, slot maps and routing;
// docs/CLIENT-LIBRARY.md), then shows and labels a tile per video slot.
// Four screens, one at a time (showScreen): the pre-join check (prejoin.js),
// the waiting room, the call, and the end (removed, denied, session ended).
// Session features (rooms, countdown, hand, chat, broadcasts, speaking) are
// in session.js, the host panel in host.js, the call's extras (view, tile
// badges, connection quality) in call-view.js. All are ES modules: this one
// is the entry point; the others import what they use from here and only
// define functions, which this file wires up at its end.
//
// Test hook (documented in Tests/e2e/README.md; prejoin.js does it): `&testTone=HZ` in the URL
// replaces the microphone with a WebAudio sine of HZ hertz, so end-to-end
// tests can tell participants apart by ear. Nothing else changes.
import { CohortClient, CohortError, ConnectionError, isFrameOfCurrentSource } from "./cohort-client.js";
import { renderSession, stopCountdown, onSession, onSpeaking, onBroadcast, onChat, wireSessionControls, resetChat } from "./session.js";
import { wireHostPanel } from "./host.js";
import { startPreview, takePreview, wirePrejoin, applySink } from "./prejoin.js";
import { decorateTiles, startQuality, stopQuality, wireCallView, announceRosterChange } from "./call-view.js";
import { renderScreen, wireScreenShare } from "./screen.js";
import { observeTile, scheduleTileWidths } from "./tile-widths.js";

const params = new URLSearchParams(location.search);

// The session link carries its token in the fragment (`/#token=...`), which
// browsers never send to a server, proxy or access log; `?token=` still works
// for older links. Either way it leaves the address bar (and so history,
// bookmarks and screenshots) at once, and stays in this tab's session
// storage so that a reload can join again.
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const found = fragment.get("token") || params.get("token");
  if (found) {
    params.delete("token");
    fragment.delete("token");
    const query = params.toString(), hash = fragment.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + (hash ? `#${hash}` : ""));
    try { sessionStorage.setItem("cohort-token", found); } catch { /* storage disabled: the link is needed again */ }
    return found;
  }
  try { return sessionStorage.getItem("cohort-token"); } catch { return null; }
}
export const token = takeToken();

// The call this tab is in, for coming back to it after a reload (within the
// server's resume grace): participant id, the latest resume token, name.
// Session storage only: it dies with the tab, and is cleared on leaving.
const RESUME_KEY = "cohort-resume";
function storedResume() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(RESUME_KEY) || "null");
    return saved && typeof saved.participantId === "string" && typeof saved.resumeToken === "string" ? saved : null;
  } catch { return null; }
}
function storeResume(value) {
  try {
    if (value) sessionStorage.setItem(RESUME_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(RESUME_KEY);
  } catch { /* storage disabled: a reload joins anew */ }
}
export const $ = (id) => document.getElementById(id);

// The page's state. What the server said lives in the CohortClient of the
// current call (`client`); the getters read it, so there is one copy.
export const state = {
  client: null,                    // CohortClient of the current call, null between calls
  get ws() { return state.client && state.client.socket; },
  get pc() { return state.client && state.client.peerConnection; },
  get participantId() { return state.client && state.client.participantId; },
  get room() { return state.client && state.client.room; },
  get joined() { return !!state.client && state.client.joined; },
  get slots() { return state.client ? state.client.slots : {}; },           // mid -> {participantId, track, after}
  get slotsVersion() { return state.client ? state.client.slotsVersion : -1; },
  get roster() { return state.client ? state.client.roster : []; },
  get session() { return state.client && state.client.session; },
  get sessionVersion() { return state.client ? state.client.sessionVersion : -1; },
  local: null,                     // own camera and microphone
  names: new Map(),                // participantId -> last known name (rosters cover one room only)
  speaking: new Set(),             // participantIds speaking in this room (`speaking`)
  countdown: null,                 // {endsAt, timer} while rooms close (session.js)
  tiles: new Map(),                // video slot mid -> tile element
  players: new Map(),              // audio slot mid -> <audio>
  timing: {},                      // performance.now() marks, read by the e2e tests
  rejoins: 0,                      // automatic rejoins after a dropped connection (e2e tests)
  resumes: 0,                      // signalling resumes after a dropped WebSocket (e2e tests)
  rejoining: null,                 // a token object while an automatic rejoin runs
};

// A dropped WebSocket is first resumed by the CohortClient (the same call,
// media untouched, within the server's grace period). When that cannot work
// (the server restarted and knows no one, or said `server-shutdown`) the
// page joins again with the same link for this long, through the URL it first used: in scale-out the session is
// placed again on a live node and the join is redirected there
// (docs/SCALE-OUT.md).
const REJOIN_FOR_MS = 60000;

// What to tell a person for each error code (docs/PROTOCOL.md "Error codes").
const ERROR_TEXT = {
  "token-expired": "This session link has expired. Ask your therapist for a new link.",
  "token-invalid": "This session link is not valid. Check that you opened the whole link.",
  "token-used": "This session link has been used already. Ask your therapist for a new link.",
  "removed": "A host removed you from this session. Ask your therapist if you should join again.",
  "unauthorized": "This session link is not valid for this session. Ask your therapist for a new link.",
  "join-timeout": "Joining took too long. Reload the page to try again.",
  "session-full": "This session is full. Ask your therapist for help.",
  "room-full": "This room is full. Ask your therapist for help.",
  "invalid-offer": "Your browser could not set up audio and video with the server. Try a current Chrome, Firefox or Safari.",
  "missing-fingerprint": "Your browser could not set up a secure media connection. Try a current Chrome, Firefox or Safari.",
  "missing-ice-credentials": "Your browser could not set up a media connection. Try a current Chrome, Firefox or Safari.",
  // Refused session commands (docs/PROTOCOL.md "Session commands").
  "forbidden": "Only a host can do that.",
  "unknown-participant": "That participant is no longer in the session.",
  "unknown-room": "That room no longer exists.",
  "duplicate-room-name": "A room with that name exists already. Choose another name.",
  "wrong-room-state": "That is not possible right now: check whether the breakout rooms are open.",
  "rooms-closing": "The breakout rooms are closing. Try again when everyone is back.",
  "invalid-command": "That was not accepted: check the names, the text or the countdown (0 to 300 seconds).",
  "rate-limited": "That was too much at once. Wait a moment and try again.",
};
export const GENERIC_ERROR = "Something went wrong on the server. Reload the page to try again.";
// Codes after which joining again with the same link cannot work.
const FATAL = new Set(["token-expired", "token-invalid", "token-used", "removed", "unauthorized"]);

// `left` reasons that are a host's decision or the end: never rejoined by
// the page, shown on the end screen (docs/CLIENTS.md "What to do on each error").
const FINAL_LEFT = new Set(["removed", "denied", "session-ended"]);
const ENDED_HEADING = { "removed": "You were removed from the session", "denied": "You were not let in", "session-ended": "The session has ended" };

// Why the server removed us (`left.reason`).
const LEFT_TEXT = {
  "consent-expired": "The connection to the media server was lost. Join again to reconnect.",
  "media-closed": "The media connection was closed. Join again to reconnect.",
  "dtls-failed": "A secure media connection could not be set up. Join again to retry.",
  "removed": "A host removed you from the session. Ask your therapist if you should join again.",
  "denied": "The host did not let you in to this session. Ask your therapist if you think this is a mistake.",
  "session-ended": "The session has ended. Thank you for taking part. You can close this page.",
};

// What to tell a person about a refused request or a lost connection.
export function errorText(err) {
  if (err instanceof CohortError) return ERROR_TEXT[err.code] || GENERIC_ERROR;
  if (err instanceof ConnectionError) {
    if (!err.wasOpen && err.closeCode !== null) return "Cannot reach the server. Check your connection and reload the page.";
    return err.closeCode === 1009 ? "The server refused a message that was too large." : "The connection to the server closed.";
  }
  return (err && err.message) || GENERIC_ERROR;
}

export function setStatus(text) { $("status").textContent = text; }

// The banner while signalling is being resumed or the call rejoined: a
// role="status" live region, so screen readers announce it without
// interrupting; media keeps playing meanwhile.
function showReconnecting(on, text = "Connection lost. Reconnecting… You can still hear and see the others.") {
  const el = $("reconnecting");
  el.textContent = on ? text : "";
  el.hidden = !on;
}

// One screen at a time: "prejoin", "waiting", "call" or "ended".
export function showScreen(name) {
  const was = document.body.dataset.screen;
  $("join-panel").hidden = name !== "prejoin";
  $("waiting-room").hidden = name !== "waiting";
  $("call").hidden = name !== "call";
  $("ended").hidden = name !== "ended";
  document.body.dataset.screen = name;
  // Moving focus to the new screen's heading tells a screen reader user
  // where they are; the call keeps focus where the person left it.
  if (was && was !== name && name === "waiting") $("waiting-heading").focus();
  if (was !== name && name === "ended") $("ended-heading").focus();
}

// The call's screen follows the server: the waiting room until admitted.
export function updateScreen() {
  if (!state.client || !state.joined) return;
  const me = state.participantId, session = state.session;
  const listed = !!session && Array.isArray(session.waiting) &&
    session.waiting.some((w) => (typeof w === "string" ? w : w && w.participantId) === me);
  const waiting = state.room === "waiting" || (!state.room && listed);
  showScreen(waiting ? "waiting" : "call");
}

// The final screen: a host's decision or the session's end; nothing rejoins.
function showEnded(reason) {
  $("ended-heading").textContent = ENDED_HEADING[reason] || "You have left the session";
  $("ended-text").textContent = LEFT_TEXT[reason] || "You have left the session.";
  showScreen("ended");
  announce($("ended-heading").textContent + ". " + $("ended-text").textContent);
}

// The live region (aria-live polite): joins, leaves, moves, broadcasts and
// chat, for screen reader users. The last few lines stay; older ones go.
export function announce(text) {
  const live = $("live");
  const line = document.createElement("p");
  line.textContent = text;
  live.append(line);
  while (live.children.length > 5) live.firstElementChild.remove();
}

// One place for everything a person must read: a role="alert" region.
export function showMessage(text) {
  const el = $("message");
  el.textContent = text;
  el.hidden = !text;
}

export function claimsFromToken(t) {
  try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

// One request ({type, ...fields}); resolves with the reply, rejects with
// CohortError (`.code`) or ConnectionError.
export function request(message) {
  if (!state.client) return Promise.reject(new ConnectionError("not connected", null, false));
  return state.client.request(message.type, message);
}

// Feeds one server message to the current call, as if it had arrived (tests).
function onMessage(msg) {
  if (state.client) state.client.receive(msg);
}

// The client's events drive the page. Handlers check that the client is
// still the current one: a closed call's late events change nothing.
function listen(client) {
  const on = (type, handler) => client.addEventListener(type, (e) => { if (client === state.client) handler(e.detail); });
  on("open", () => { state.timing.wsOpen = performance.now(); });
  on("screen", () => render());
  on("resume-token", ({ participantId, resumeToken }) => storeResume({ participantId, resumeToken, name: state.joinName }));
  on("joined", (reply) => {
    state.timing.joined = performance.now();
    if (reply && reply.resumedAfterReload) state.reloadResumed = true;
    // Who is here at joining is the baseline for "joined"/"left" lines.
    state.knownRoster = new Map(state.roster.map((p) => [p.participantId, p.name]));
    state.knownRosterRoom = client.room;
    // Joined with the microphone off (pre-join switch, or kept across a
    // rejoin): the others' tiles say so.
    const [mic] = state.local ? state.local.getAudioTracks() : [];
    if (!mic || !mic.enabled) tellMicrophone(client, true);
    scheduleTileWidths();
    const pc = client.peerConnection;
    pc.addEventListener("connectionstatechange", () => {
      if (client !== state.client) return;
      if (pc.connectionState === "connected") { setStatus(`In the session (room ${client.room})`); renderSession(); }
      else if (pc.connectionState === "failed") showMessage("The media connection failed. Join again to retry.");
    });
  });
  on("slots", () => render());
  on("downlink", ({ suggestAudioMix }) => {
    render();
    if (suggestAudioMix) showMessage("Your connection is too weak for everyone's audio separately. Mixed audio (one stream) would sound better.");
  });
  on("roster", ({ participants }) => {
    for (const p of participants) if (p.participantId) state.names.set(p.participantId, p.name);
    announceRosterChange(participants);
    render();
    renderSession();
  });
  on("session", onSession);
  on("speaking", ({ participants }) => onSpeaking(participants));
  on("broadcast", onBroadcast);
  on("chat", onChat);
  on("error", (err) => {
    console.warn("cohort error", err.code, err.detail);
    showMessage(errorText(err));
  });
  on("left", ({ reason }) => {
    storeResume(null);
    setStatus("Not connected");
    if (FINAL_LEFT.has(reason)) {
      endCall({ final: true });
      showEnded(reason);
      return;
    }
    endCall();
    showMessage(LEFT_TEXT[reason] || "You have left the session.");
  });
  on("shutdown", ({ retryAfter }) => {
    // The server restarts: join again with the same link once it is back.
    state.timing.shutdownNotice = performance.now();
    rejoin({ firstDelayMs: retryAfter * 1000, text: "The server is restarting. Reconnecting…" });
  });
  on("resume-failed", ({ code }) => {
    if (code !== "resume-expired") return;  // the server restarted or was unreachable: `close` rejoins
    // Away longer than the grace period: the server ended this stay.
    endCall();
    showMessage("You were disconnected for too long and have left the session. Join again to return.");
    setStatus("Not connected");
  });
  on("close", ({ joined }) => {
    if (joined) {
      rejoin();
      return;
    }
    setStatus("Not connected");
  });
  on("reconnecting", () => {
    showReconnecting(true);
    setStatus("Reconnecting…");
  });
  on("resumed", () => {
    state.resumes += 1;
    state.timing.resumed = performance.now();
    showReconnecting(false);
    setStatus(`In the session (room ${client.room})`);
    render();
    renderSession();
  });
}

export function nameOf(participantId) {
  const entry = state.roster.find((p) => p.participantId === participantId);
  return entry ? entry.name : state.names.get(participantId) || "Participant";
}

function makeTile(route) {
  observeTile(makeVideoTile(route, "tile", $("grid"), true));
}

// One tile for a video slot (a camera in the grid, a screen on the stage):
// hidden until filled; after each change of source it stays dark until a
// frame of the new source renders: one whose RTP timestamp is newer than the
// slot map's `after` (docs/PROTOCOL.md `slots`), so the previous person's
// last frame never shows under the new name. Frames are drawn at opacity 0
// meanwhile, so the browser keeps reporting them.
export function makeVideoTile({ mid, track }, className, parent, withBadges) {
  const tile = document.createElement("figure");
  tile.className = className;
  tile.dataset.mid = mid;
  tile.hidden = true;
  const video = document.createElement("video");
  video.autoplay = true; video.playsInline = true; video.muted = true;
  video.srcObject = new MediaStream([track]);
  const label = document.createElement("figcaption");
  label.className = "label";
  tile.append(video, label);
  if (withBadges) {
    const badges = document.createElement("div");
    badges.className = "badges";
    tile.append(badges);
  }
  parent.append(tile);
  state.tiles.set(mid, tile);
  if ("requestVideoFrameCallback" in video) {
    const onFrame = (_now, meta) => {
      if (tile.gate && isFrameOfCurrentSource(tile.gate.after, meta.rtpTimestamp)) openTile(tile);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  return tile;
}

function openTile(tile) {
  tile.gate = null;
  tile.classList.remove("waiting");
}

function makePlayer({ mid, track }) {
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.dataset.mid = mid;
  audio.srcObject = new MediaStream([track]);
  applySink(audio);
  document.body.append(audio);
  state.players.set(mid, audio);
}

// Tiles show who fills each video slot now (the client's routes); an empty
// slot is hidden. Every receive slot gets its tile or <audio> on first sight.
export function render() {
  if (!state.client) return;
  for (const route of state.client.routes("audio")) if (!state.players.has(route.mid)) makePlayer(route);
  for (const route of state.client.routes("video")) {
    if (!state.tiles.has(route.mid)) makeTile(route);
    const tile = state.tiles.get(route.mid), source = route.source;
    const who = source && source.participantId;
    if ((who || "") !== tile.dataset.participant) {
      tile.gate = who ? { after: typeof source.after === "number" ? source.after : null } : null;
      tile.classList.toggle("waiting", !!who);
      if (who && !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) openTile(tile);
    }
    tile.hidden = !who;
    tile.dataset.participant = who || "";
    tile.classList.toggle("speaking", !!who && state.speaking.has(who));
    // Paused by the server for this connection's bandwidth: say so rather than freeze.
    const paused = !!who && state.client.pausedMids.includes(route.mid);
    tile.classList.toggle("paused", paused);
    const name = who ? nameOf(who) : "";
    tile.querySelector(".label").textContent = (source && source.track === "screen" ? `${name} (screen)` : name)
      + (paused ? " — video paused, poor connection" : "");
    tile.querySelector("video").setAttribute("aria-label", who ? `Video of ${name}` : "Empty");
  }
  decorateTiles();
  renderScreen();
  const me = state.roster.find((p) => p.participantId === state.participantId);
  const self = document.querySelector(".tile.self .label");
  if (self && me) self.textContent = `${me.name} (you)`;
  const selfTile = document.querySelector(".tile.self");
  if (selfTile) selfTile.classList.toggle("speaking", state.speaking.has(state.participantId));
  const hands = (state.session && state.session.handsRaised) || [];
  $("roster").replaceChildren(...state.roster.map((p) => {
    const li = document.createElement("li");
    li.textContent = p.name + (p.role === "host" ? " (host)" : p.role === "co-host" ? " (co-host)" : "") +
      (p.participantId === state.participantId ? " (you)" : "") + (hands.includes(p.participantId) ? " (hand raised)" : "");
    return li;
  }));
}

// `resume`: come back as the participant this tab was before a reload
// (falls back to joining anew when the server refuses).
async function join({ resume = null } = {}) {
  state.timing = { joinClicked: performance.now() };
  $("join").disabled = true;
  showMessage("");
  try {
    setStatus("Starting camera and microphone…");
    state.local = await takePreview();
    const name = $("name").value.trim();
    const self = document.createElement("figure");
    self.className = "tile self";
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = true; v.srcObject = state.local;
    v.setAttribute("aria-label", "Your camera");
    const label = document.createElement("figcaption");
    label.className = "label"; label.textContent = `${name || "You"} (you)`;
    const badges = document.createElement("div");
    badges.className = "badges";
    self.append(v, label, badges);
    $("grid").replaceChildren(self);
    // The pre-join switches: a track that starts disabled is "off" in the call.
    const [mic] = state.local.getAudioTracks(), [cam] = state.local.getVideoTracks();
    setToggle($("mic"), mic, "microphone");
    setToggle($("cam"), cam, "camera");

    setStatus("Connecting…");
    const client = new CohortClient();
    state.client = client;
    listen(client);
    const [audio] = state.local.getAudioTracks();
    const [video] = state.local.getVideoTracks();
    state.joinName = name || undefined;
    try {
      await client.join({ token, name: state.joinName, audio, video, stream: state.local, resume: resume || undefined });
    } catch (err) {
      if (!resume || !(err instanceof CohortError)) throw err;
      // Too late to come back (grace over, removed, server restarted): join anew.
      storeResume(null);
      console.warn("resume after reload refused", err.code);
      const fresh = new CohortClient();
      state.client = fresh;
      listen(fresh);
      await fresh.join({ token, name: state.joinName, audio, video, stream: state.local });
    }
    render();
    updateScreen();
    startQuality();
    setStatus("Connecting media…");
    renderSession();
  } catch (err) {
    console.warn("join failed", err.code || err.name || "", err.detail || err.message);
    endCall();
    showMessage(describeJoinFailure(err));
    $("join").disabled = !token || (err instanceof CohortError && FATAL.has(err.code));
    setStatus("Not connected");
  }
}

// Joins again after a dropped connection, keeping camera and microphone;
// retries with back-off (or the server's retryAfter) for REJOIN_FOR_MS.
async function rejoin({ firstDelayMs = 0, text = "The connection dropped. Reconnecting…" } = {}) {
  const attempt = {};
  state.rejoining = attempt;
  dropRemote();
  showReconnecting(true, text);
  setStatus("Reconnecting…");
  const until = performance.now() + REJOIN_FOR_MS + firstDelayMs;
  let delay = 500;
  // The server's retryAfter is a bound, not a rendezvous: spread the first
  // tries over its last four fifths, so a restarted server is not met by
  // everyone at once, and most are back before the hint runs out.
  if (firstDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, firstDelayMs * (0.2 + 0.8 * Math.random())));
  while (state.rejoining === attempt && state.local && performance.now() < until) {
    setStatus("Reconnecting…");
    const client = new CohortClient();
    state.client = client;
    listen(client);
    try {
      const [audio] = state.local.getAudioTracks();
      const [video] = state.local.getVideoTracks();
      await client.join({ token, name: state.joinName, audio, video, stream: state.local });
      if (state.rejoining !== attempt) return;
      state.rejoining = null;
      state.rejoins += 1;
      state.timing.rejoined = performance.now();
      showReconnecting(false);
      showMessage("");
      render();
      updateScreen();
      setStatus("Connecting media…");
      renderSession();
      return;
    } catch (err) {
      if (client === state.client) state.client = null;
      if (state.rejoining !== attempt) return;
      if (err instanceof CohortError && FATAL.has(err.code)) {
        state.rejoining = null;
        endCall();
        showMessage(describeJoinFailure(err));
        return;
      }
      const wait = err instanceof CohortError && err.retryAfter ? err.retryAfter * 1000 : delay;
      // Jittered, so that a restarted server's clients do not all return at once.
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5000) * (0.5 + Math.random() / 2)));
      delay = Math.min(delay * 2, 4000);
    }
  }
  if (state.rejoining !== attempt) return;
  state.rejoining = null;
  endCall();
  showReconnecting(false);
  showMessage("You are disconnected from the session. Join again to reconnect.");
  setStatus("Not connected");
}

// Forgets the dropped call's remote side (tiles, players, speakers) but
// keeps own media and the own tile, for `rejoin`.
function dropRemote() {
  if (state.client) { state.client.close(); state.client = null; }
  for (const a of state.players.values()) { a.srcObject = null; a.remove(); }
  state.players.clear();
  for (const tile of state.tiles.values()) tile.remove();
  state.tiles.clear();
  state.speaking = new Set();
  stopCountdown();
}

function describeJoinFailure(err) {
  if (err instanceof CohortError || err instanceof ConnectionError) return errorText(err);
  return err.message || GENERIC_ERROR;
}

// Closes the call (socket and peer connection), stops own media and returns
// to the pre-join screen (with a fresh preview), or, `final`, to nothing.
function endCall({ final = false } = {}) {
  state.rejoining = null;
  stopQuality();
  showReconnecting(false);
  if (state.client) { state.client.close(); state.client = null; }
  if (state.local) { state.local.getTracks().forEach((t) => t.stop()); state.local = null; }
  for (const a of state.players.values()) { a.srcObject = null; a.remove(); }
  state.players.clear();
  state.tiles.clear();
  $("grid").replaceChildren();
  state.speaking = new Set();
  stopCountdown();
  for (const id of ["chat-log", "announcements", "host-rooms", "host-waiting"]) $(id).replaceChildren();
  resetChat();
  $("host-panel").hidden = true;
  $("room-name").textContent = "";
  $("listening-notice").hidden = true;
  $("muted-notice").hidden = true;
  $("mic").setAttribute("aria-pressed", "false");
  $("cam").setAttribute("aria-pressed", "false");
  if (final) {
    $("join").disabled = true;
    return;
  }
  showScreen("prejoin");
  $("join").disabled = !token;
  if (token) startPreview();
}

async function leave() {
  storeResume(null);
  if (state.client) await state.client.leave();
  endCall();
  showMessage("You left the session.");
  setStatus("Not connected");
}

// Toggle buttons keep their label; aria-pressed says whether muting is on.
function toggle(kind, button) {
  if (!state.local) return;
  const track = kind === "audio" ? state.local.getAudioTracks()[0] : state.local.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  setToggle(button, track, kind === "audio" ? "microphone" : "camera");
  if (kind === "audio" && state.client && state.joined) tellMicrophone(state.client, !track.enabled);
  render();
}

// `self-mute` (docs/PROTOCOL.md): others see "Microphone off" on our tile.
// Only a label: the disabled track already sends silence. A refusal (e.g.
// in the waiting room) changes nothing here.
function tellMicrophone(client, muted) {
  client.request("self-mute", { muted }).catch((err) => console.warn("self-mute", err.code || err.message));
}

function setToggle(button, track, what) {
  button.disabled = !track;
  button.setAttribute("aria-pressed", String(!!track && !track.enabled));
  if (!track) button.textContent = what === "camera" ? "No camera" : "No microphone";
  else button.textContent = what === "camera" ? "Turn camera off" : "Mute microphone";
}

$("mic").onclick = () => toggle("audio", $("mic"));
$("cam").onclick = () => toggle("video", $("cam"));
$("leave").onclick = leave;
$("waiting-leave").onclick = leave;
$("join").onclick = () => join();
// Every module arrived: the next failed load may reload by itself again (index.html).
try { sessionStorage.removeItem("cohort-load-retries"); } catch { /* no storage */ }
$("name").value = claimsFromToken(token || "").name || "";
showScreen("prejoin");
wirePrejoin();
const claims = claimsFromToken(token || "");
if (!token) {
  showMessage("This link has no session token. Ask your therapist for your session link.");
  $("join").disabled = true;
} else if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now() - 60000 && !storedResume()) {
  // Plainly expired (a minute's grace for clocks): say so before the person
  // sets up camera and microphone. The server has the last word on the rest.
  showMessage(ERROR_TEXT["token-expired"]);
  $("join").disabled = true;
} else if (storedResume()) {
  // A reload of a page that was in the call: straight back into it.
  const saved = storedResume();
  if (saved.name) $("name").value = saved.name;
  join({ resume: saved });
} else {
  startPreview();
}
// For the end-to-end tests (Tests/e2e/test_call_chromium.py): state and timing
// are read, onMessage is fed synthetic server messages; request sends one.
window.cohort = { state, join, leave, onMessage, request };
wireSessionControls();
wireHostPanel();
wireCallView();
wireScreenShare();
