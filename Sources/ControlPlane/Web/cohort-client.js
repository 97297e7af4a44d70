// cohort-client.js: Cohort's signalling and slot routing for browsers, as one
// ES module with no dependencies and no build step (docs/CLIENT-LIBRARY.md,
// the protocol in docs/PROTOCOL.md). The web client in this directory is
// built on it; an app can import it the same way:
//
//   import { CohortClient } from "https://cohort.example/cohort-client.js";
//   const client = new CohortClient();                 // ws(s)://<this host>/ws
//   client.addEventListener("track", (e) => show(e.detail.route));
//   await client.join({ token, audio: micTrack, video: camTrack });
//   await client.request("hand", { raised: true });    // resolves with `ok`
//
// Exports:
//   CohortClient          one participant's connection: the offer, `join`,
//                         requests, and the state the server pushes
//   CohortError           a request refused by the server (`.code`, `.detail`)
//   ConnectionError       the socket could not open or closed (`.closeCode`)
//   DEFAULT_SLOTS         receive slots per kind offered by default (12)
//   isNewerTimestamp      RFC 1982 serial order of 32-bit RTP timestamps
//   isFrameOfCurrentSource  the "keep the tile dark" check for `after`
//   parseAnswerSsrcs      mid -> {ssrc, rtxSsrc} from the server's answer
//   RepairPlayout         the loss-adaptive video playout delay (below)
//   IceRestartPolicy      when to restart ICE: lost connectivity, a network change
//
// CohortClient state (read-only properties): socket, peerConnection,
// participantId, room, joined, slots, slotsVersion, roster, session,
// sessionVersion, speaking, playoutTarget, resumeToken, reconnecting, pausedMids. Methods: connect, join, request, receive, leave,
// close, restartIce, routes, route, routeBySsrc, routesFor.
//
// Events (CustomEvent; `detail` in brackets), all dispatched synchronously
// while the server's message is handled:
//   open       the WebSocket is open                       [null]
//   joined     the `joined` reply has been applied          [the message]
//   track      a receive slot changed source                [{route, previous}]
//   slots      a newer slot map was applied                 [{map, version, changed}]
//   roster     the roster changed                           [{participants}]
//   session    a newer `session` was applied                [the message]
//   speaking   who in this room is speaking                 [{participants}]
//   broadcast, chat                                         [the message]
//   left       the server removed this participant          [{reason}]
//   reconnecting  the socket dropped; resuming after a pause  [{attempt, delayMs, code}]
//   resumed    `resume` succeeded: the same call goes on     [the message]
//   resume-failed  resume is over: the participant is gone
//              or the server does not know it (restarted)   [{code}] ("resume-expired",
//              "resume-refused", "unreachable"); a `close` follows
//   resume-token  a new resume token (keep it to resume)     [{participantId, resumeToken}]
//   shutdown   the server is stopping; join again later     [{retryAfter}] (seconds)
//   redirect   `join` follows the server to another node    [{url}] (docs/SCALE-OUT.md)
//   error      an error not answering a request             [CohortError]
//   close      the socket closed, not through close()       [{code, reason, joined}]
//   icerestart an ICE restart started, finished or failed    [{reason, phase, code?}]
//   screen     this client's own screen share started/ended  [{sharing, reason}] (reason:
//              "started", "stopped", "server" (moved, right taken back), "left")
//   message    every server message, after it was applied   [the message]
//
// Rooms are opaque strings: "main", a breakout room id, or whatever else the
// server names (a waiting room, say). The library never interprets them.

/** Receive slots per kind offered by default: a group of up to 13 sees and
 * hears everyone. The server fills at most its `maxSlots` (16) per kind. */
export const DEFAULT_SLOTS = 12;

/**
 * The camera's simulcast layers (docs/BANDWIDTH.md): quarter, half and full
 * resolution, lowest first as the server expects them; it forwards each
 * subscriber the layer its downlink and tile size call for.
 */
export const SIMULCAST_ENCODINGS = Object.freeze([
  Object.freeze({ rid: "q", scaleResolutionDownBy: 4 }),
  Object.freeze({ rid: "h", scaleResolutionDownBy: 2 }),
  Object.freeze({ rid: "f", scaleResolutionDownBy: 1 }),
]);

/**
 * Whether this browser sends simulcast unless told otherwise: Chromium-based
 * browsers (and Safari, whose libwebrtc is Chrome's) do; Firefox does not,
 * since its rid-based simulcast is not verified end to end against Cohort yet
 * (docs/BANDWIDTH.md) and one layer is what it sent before.
 */
export function simulcastByDefault() {
  return !(typeof navigator !== "undefined" && /Firefox\//.test(navigator.userAgent || ""));
}

/** Redirects a `join` follows in a row (docs/PROTOCOL.md `redirect`): one
 * is the rule; more mean the directory changed under the join. */
export const MAX_REDIRECTS = 3;

/** Pauses between resume attempts after a dropped WebSocket: doubling from
 * `firstMs` up to `maxMs`, each drawn at random from its upper half so that
 * a server's clients do not all come back in the same instant. */
export const RESUME_BACKOFF = Object.freeze({ firstMs: 250, maxMs: 4000 });

/** How long resume attempts go on while the server cannot be reached at
 * all, ms: a server that is down (restarting, or a scale-out node that
 * died) is better joined again than waited for (docs/CLIENT-LIBRARY.md). */
export const RESUME_UNREACHABLE_MS = 10000;

/** The same after a `redirect` (scale-out): the socket is to the session's
 * node, and a node that cannot be reached has most likely died; joining
 * again through the first URL places the session on a live one. */
export const RESUME_UNREACHABLE_REDIRECTED_MS = 3000;

/** The pause before resume attempt `attempt` (1, 2, ...), ms, jittered. */
export function resumeDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RESUME_BACKOFF.maxMs, RESUME_BACKOFF.firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

// Close codes after which resuming makes no sense: the server closed on
// purpose (1000 after `left` or `redirect`, 1001 after `server-shutdown`,
// 1008 a refused token, 1012 the session moved to another node).
const NO_RESUME_CODES = new Set([1000, 1001, 1008, 1012]);

/** A request refused by the server: `code` is the protocol's error code
 * (docs/PROTOCOL.md "Error codes"), `detail` its English log text. */
export class CohortError extends Error {
  /** @param {string} code @param {string} [detail] @param {number} [retryAfter] */
  constructor(code, detail, retryAfter) {
    super(detail ? `${code}: ${detail}` : String(code));
    this.name = "CohortError";
    /** @type {string} */ this.code = code;
    /** @type {string|undefined} */ this.detail = detail;
    /** @type {number|undefined} seconds after which the same request may succeed */
    this.retryAfter = Number.isFinite(retryAfter) ? retryAfter : undefined;
  }
}

/** The WebSocket could not be opened (`wasOpen` false), or it closed while
 * a request was waiting for its reply. `closeCode` is the close code (1009:
 * a message over 64 KiB), or null when the client closed it itself. */
export class ConnectionError extends Error {
  /** @param {string} message @param {number|null} closeCode @param {boolean} wasOpen */
  constructor(message, closeCode, wasOpen) {
    super(message);
    this.name = "ConnectionError";
    /** @type {number|null} */ this.closeCode = closeCode;
    /** @type {boolean} */ this.wasOpen = wasOpen;
  }
}

/**
 * RFC 1982 serial number arithmetic on 32-bit RTP timestamps: is `a` after
 * `b`? Equal values and values exactly half the space apart are not.
 * @param {number} a @param {number} b @returns {boolean}
 */
export function isNewerTimestamp(a, b) {
  const d = ((a >>> 0) - (b >>> 0)) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/**
 * Whether a rendered video frame belongs to the slot's current source, so
 * the tile may show it (docs/PROTOCOL.md `slots`, `after`). When a slot
 * changes source, frames of the previous source can still be queued in the
 * jitter buffer; they carry `after` or older. Keep the tile dark until this
 * returns true for a frame (in browsers, `requestVideoFrameCallback`
 * reports `metadata.rtpTimestamp`). Without `after` (the slot carried
 * nothing before), or when the browser does not report `rtpTimestamp`,
 * every frame counts as current.
 * @param {number|null|undefined} after the slot source's `after`
 * @param {number|undefined} rtpTimestamp the frame's RTP timestamp
 * @returns {boolean}
 */
export function isFrameOfCurrentSource(after, rtpTimestamp) {
  if (typeof after !== "number" || typeof rtpTimestamp !== "number") return true;
  return isNewerTimestamp(rtpTimestamp, after);
}

/**
 * The SSRCs the answer names for each media section: mid -> {ssrc, rtxSsrc}.
 * With an `a=ssrc-group:FID` line (RFC 5576 §4.2, RFC 4588 §8) the first
 * SSRC is the media and the second its retransmission stream; otherwise the
 * first `a=ssrc` line's SSRC is the media. Sections without SSRCs are absent.
 * @param {string} sdp @returns {Map<string, {ssrc: number, rtxSsrc: number|null}>}
 */
export function parseAnswerSsrcs(sdp) {
  const result = new Map();
  for (const section of String(sdp).split(/\r?\nm=/).slice(1)) {
    const lines = section.split(/\r?\n/);
    const mid = lines.find((l) => l.startsWith("a=mid:"));
    if (!mid) continue;
    const fid = lines.find((l) => l.startsWith("a=ssrc-group:FID "));
    const first = lines.find((l) => l.startsWith("a=ssrc:"));
    let ssrc = null, rtxSsrc = null;
    if (fid) [ssrc, rtxSsrc] = fid.slice("a=ssrc-group:FID ".length).trim().split(/\s+/).map(Number);
    else if (first) ssrc = Number(first.slice("a=ssrc:".length).split(" ")[0]);
    if (Number.isFinite(ssrc)) result.set(mid.slice("a=mid:".length).trim(), { ssrc, rtxSsrc: Number.isFinite(rtxSsrc) ? rtxSsrc : null });
  }
  return result;
}

/**
 * @typedef {Object} SlotSource  who fills a receive slot (a slot map value)
 * @property {string} [participantId] absent for `mix`
 * @property {"microphone"|"camera"|"screen"|"mix"} track
 * @property {number} [after] RTP timestamp of the slot's last packet of its previous source
 * @property {string} [room] on a listen-in `mix`: the room it carries
 */

/**
 * @typedef {Object} SlotRoute  one receive slot: where it arrives and who fills it now
 * @property {string} mid the slot's SDP mid, the key of slot maps
 * @property {"audio"|"video"|"screen"} kind ("screen": the room's one screen-share slot)
 * @property {number} index position among the receive slots of its kind;
 *   audio slot i and video slot i are one media stream (lip sync)
 * @property {RTCRtpReceiver} receiver
 * @property {MediaStreamTrack} track the receiver's track: the same for the whole call
 * @property {number|null} ssrc media SSRC the answer names for this slot
 * @property {number|null} rtxSsrc its retransmission SSRC (video), if any
 * @property {SlotSource|null} source who fills it now; null when empty
 */

// Offer only what Cohort forwards (Opus, VP8 with its RFC 4588 rtx): the
// server would refuse the rest, and Chrome's full codec list costs ~2.5 KB
// per video section, which would push a 12-slot offer past the 64 KiB
// message limit (close 1009). Repairs on their own SSRC let the browser's
// statistics and bandwidth estimate tell them from first transmissions.
function preferCohortCodecs(transceiver, kind) {
  if (!transceiver.setCodecPreferences || typeof RTCRtpReceiver === "undefined" || !RTCRtpReceiver.getCapabilities) return;
  const want = kind === "audio" ? ["audio/opus"] : ["video/vp8", "video/rtx"];
  const codecs = (RTCRtpReceiver.getCapabilities(kind) || { codecs: [] }).codecs
    .filter((c) => want.includes(c.mimeType.toLowerCase()));
  if (!codecs.length) return;
  try { transceiver.setCodecPreferences(codecs); } catch {
    // A browser that refuses rtx on its own keeps VP8 alone (repairs then use the media SSRC).
    transceiver.setCodecPreferences(codecs.filter((c) => c.mimeType.toLowerCase() !== "video/rtx"));
  }
}

/**
 * The loss-adaptive video playout delay. A video packet lost on the way is
 * repaired by NACK and retransmission (docs/LOSS.md): one round trip when the
 * first retransmission arrives, two when the NACK or the retransmission is
 * lost too. The browser's jitter buffer, sized for jitter, shows a frame
 * freeze for every repair that takes longer than it holds. While the
 * receivers are repairing loss, the video receivers ask for a playout delay
 * (`RTCRtpReceiver.jitterBufferTarget`) that covers two round trips; after
 * `quietMs` without loss it is given back to the browser (null), so a clean
 * link keeps the lowest latency. Audio follows through the browser's lip
 * sync. Measured at 3 % loss on two 40 ms hops: frozen 2.1 % of the time
 * without it, 0.3 % with it, for about 100 ms of added delay (docs/LOSS.md).
 *
 * Pure: `update` takes one sample of the receivers' counters and returns the
 * target in milliseconds, or null for the browser's own. The first sample is
 * judged against zero (the counters start with the call), so a call that
 * starts on a lossy link gets its delay at the first sample, 2 s in, instead
 * of repairing with the browser's short buffer until the second.
 */
export class RepairPlayout {
  /** NACKed packets per received packet above which the link counts as lossy. */
  static lossyRatio = 0.005;
  static minimumMs = 120;
  static maximumMs = 400;

  #target = null; #lossyAt = -Infinity; #last = null;

  /** @param {{quietMs?: number}} [options] */
  constructor({ quietMs = 20000 } = {}) { this.quietMs = quietMs; }

  /** @type {number|null} the current target, ms; null: the browser's own */
  get target() { return this.#target; }

  /**
   * @param {{nacks: number, packets: number, rttMs: number|null, now: number}} sample the video
   *   receivers' total `nackCount` and `packetsReceived` so far, the transport's round trip, and the time (ms)
   * @returns {number|null} the target to apply, ms
   */
  update({ nacks, packets, rttMs, now }) {
    const last = this.#last ?? { nacks: 0, packets: 0 };
    this.#last = { nacks, packets };
    const nacked = Math.max(0, nacks - last.nacks), received = Math.max(0, packets - last.packets);
    if (nacked > 0 && nacked >= RepairPlayout.lossyRatio * Math.max(received, 1)) this.#lossyAt = now;
    if (now - this.#lossyAt > this.quietMs) {
      this.#target = null;
    } else if (Number.isFinite(rttMs) && rttMs > 0) {
      const want = Math.min(RepairPlayout.maximumMs, Math.max(RepairPlayout.minimumMs, Math.round(2 * rttMs + 40)));
      // Small changes of the round trip are not worth a change of delay.
      if (this.#target === null || Math.abs(want - this.#target) >= 20) this.#target = want;
    }
    return this.#target;
  }
}

/**
 * When to restart ICE (docs/PROTOCOL.md `ice-restart`, RFC 8445 §9): when
 * `iceConnectionState` has stayed `disconnected` for `graceMs` (2 s: a
 * browser reports `disconnected` after a few lost checks and often recovers
 * by itself), at once when it is `failed`, and at once when the network
 * changes (the browser's `online` event, `navigator.connection` `change`):
 * the old path may be gone before ICE notices.
 *
 * And when nothing has arrived for `silentMs` (3 s) while ICE still says
 * connected: the server sends RTCP at least every second and answers a
 * check every 2.5 s, so silence means the path is gone. Chromium takes 5 to
 * 8 s to report `disconnected` after its network vanished; the owner feeds
 * the transport's `bytesReceived` to `traffic`.
 *
 * One restart at a time: triggers while one runs are remembered and run
 * once after it, `retryMs` later. A restart that fails (no answer, socket
 * down) or leaves ICE `failed` or `disconnected` is tried again, with the
 * delay doubling up to `maxRetryMs`. `close` stops everything.
 *
 * Pure apart from `restart(reason)`, which the owner gives (a promise), and
 * the timers, which a test may replace.
 */
export class IceRestartPolicy {
  #restart; #setTimer; #clearTimer; #now;
  #state = "new"; #timer = null; #running = false; #queued = null; #closed = false; #retry;
  #bytes = null; #heardAt = null;

  /**
   * @param {Object} options
   * @param {(reason: string) => Promise<unknown>} options.restart performs one restart
   * @param {number} [options.graceMs] how long `disconnected` may last (2000)
   * @param {number} [options.retryMs] first delay before another try (1000)
   * @param {number} [options.maxRetryMs] longest delay between tries (16000)
   * @param {number} [options.silentMs] how long nothing may arrive while connected (3000)
   * @param {Function} [options.setTimer] setTimeout by default
   * @param {Function} [options.clearTimer] clearTimeout by default
   * @param {() => number} [options.now] milliseconds, performance.now() by default
   */
  constructor({ restart, graceMs = 2000, retryMs = 1000, maxRetryMs = 16000, silentMs = 3000,
    setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(t), now = () => performance.now() }) {
    this.#restart = restart;
    this.graceMs = graceMs;
    this.silentMs = silentMs;
    this.#now = now;
    this.retryMs = retryMs;
    this.maxRetryMs = maxRetryMs;
    this.#retry = retryMs;
    this.#setTimer = setTimer;
    this.#clearTimer = clearTimer;
  }

  /** @type {boolean} a restart is under way */
  get running() { return this.#running; }

  /** The peer connection's `iceConnectionState` changed. @param {string} state */
  iceState(state) {
    if (this.#closed) return;
    this.#state = state;
    if (state === "connected" || state === "completed") {
      this.#cancel();
      this.#retry = this.retryMs;
    } else if (state === "disconnected") {
      if (this.#timer === null) this.#arm(this.graceMs, "disconnected");
    } else if (state === "failed") {
      this.#cancel();
      this.#trigger("failed");
    } else if (state === "closed") {
      this.close();
    }
  }

  /**
   * One sample of the bytes received on the transport so far. Silence for
   * `silentMs` while ICE says connected restarts (reason "silent").
   * @param {number} bytes
   */
  traffic(bytes) {
    if (this.#closed) return;
    const now = this.#now();
    if (this.#bytes === null || bytes !== this.#bytes || this.#running) {
      this.#bytes = bytes;
      this.#heardAt = now;
      return;
    }
    const connected = this.#state === "connected" || this.#state === "completed";
    if (connected && this.#timer === null && now - this.#heardAt >= this.silentMs) {
      this.#heardAt = now;  // one restart per silence; the retry rules take it from there
      this.#trigger("silent");
    }
  }

  /** The device's network changed (came online, or another connection type). */
  networkChanged() {
    if (this.#closed) return;
    this.#cancel();
    this.#trigger("network");
  }

  /** Stops: no timer left, no restart started from now on. */
  close() {
    this.#closed = true;
    this.#cancel();
    this.#queued = null;
  }

  #arm(ms, reason) {
    this.#timer = this.#setTimer(() => {
      this.#timer = null;
      this.#trigger(reason);
    }, ms);
  }

  #cancel() {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
  }

  #trigger(reason) {
    if (this.#closed) return;
    if (this.#running) {
      this.#queued = reason;
      return;
    }
    this.#running = true;
    let ok = false;
    Promise.resolve()
      .then(() => this.#restart(reason))
      .then(() => { ok = true; }, () => {})
      .then(() => {
        this.#running = false;
        if (this.#closed) return;
        const stillBad = this.#state === "failed" || this.#state === "disconnected";
        if (this.#queued !== null || !ok || stillBad) {
          const next = this.#queued ?? (ok ? this.#state : reason);
          this.#queued = null;
          const delay = this.#retry;
          this.#retry = Math.min(this.maxRetryMs, this.#retry * 2);
          this.#cancel();
          this.#arm(delay, next);
        }
      });
  }
}

/** A CohortClient's feed for RepairPlayout: one sample of the video receivers' counters. */
async function repairSample(pc) {
  let nacks = 0, packets = 0, rttMs = null;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      nacks += s.nackCount || 0;
      packets += s.packetsReceived || 0;
    } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && Number.isFinite(s.currentRoundTripTime)) {
      rttMs = s.currentRoundTripTime * 1000;
    }
  });
  return { nacks, packets, rttMs, now: performance.now() };
}

function sameSource(a, b) {
  if (!a || !b) return !a === !b;
  return a.participantId === b.participantId && a.track === b.track && a.after === b.after && a.room === b.room;
}

function freezeMap(map) {
  const out = {};
  if (map && typeof map === "object" && !Array.isArray(map)) {
    for (const [mid, v] of Object.entries(map)) if (v && typeof v === "object") out[mid] = Object.freeze({ ...v });
  }
  return Object.freeze(out);
}

function defaultUrl() {
  if (typeof location === "undefined") throw new TypeError("CohortClient: give `url` outside a page");
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

/** The `a=mid:` values of an SDP, in m-line order. */
function offerMids(sdp) {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith("a=mid:")).map((l) => l.slice(6).trim());
}

/**
 * One participant's connection to Cohort: one WebSocket, one
 * RTCPeerConnection, negotiated once. Use one client per call; to join again
 * after leaving (or after a failed join), create a new one.
 */
export class CohortClient extends EventTarget {
  #url; #sessionParam; #slotCount; #rtcConfiguration;
  #socket = null; #opened = null; #closed = false;
  #pc = null; #routes = []; #ssrcs = new Map();
  #nextId = 1; #pending = new Map();
  #participantId = null; #room = null; #joined = false;
  #slots = freezeMap({}); #slotsVersion = -1;
  #roster = Object.freeze([]); #rosterPushed = false;
  #session = null; #sessionVersion = -1;
  #speaking = Object.freeze([]);
  #playout = null; #playoutTimer = null;
  #redirected = false;
  #resume = true; #resumeToken = null; #resumeGrace = 30; #reconnecting = false; #shutdownAnnounced = false;
  #autoIceRestart; #iceRestarts = null; #restarting = null; #unwatchNetwork = null;
  #pausedMids = Object.freeze([]);
  #screenSender = null; #screenTrack = null; #screenMids = null;
  #simulcast = false;

  /**
   * @param {Object} [options]
   * @param {string} [options.url] WebSocket URL; default `ws(s)://<page host>/ws`
   * @param {string} [options.session] adds `?session=`: the token must be for this session
   * @param {number} [options.slots] receive slots per kind in the offer (default 12)
   * @param {RTCConfiguration} [options.rtcConfiguration] merged over
   *   `{bundlePolicy: "max-bundle", rtcpMuxPolicy: "require"}` (the server requires both)
   * @param {boolean} [options.adaptivePlayout] raise the video playout delay while loss is
   *   being repaired (RepairPlayout; default true)
   * @param {boolean} [options.resume] after a dropped WebSocket, reconnect and `resume` the same
   *   call, media untouched, within the server's grace period (default true)
   * @param {boolean} [options.iceRestart] restart ICE by itself when the connection is
   *   lost or the network changes (IceRestartPolicy; default true)
   * @param {boolean} [options.simulcast] send the camera as three simulcast layers
   *   (SIMULCAST_ENCODINGS), so that the server can give each receiver the layer its
   *   downlink and tile call for (docs/BANDWIDTH.md). Default: on, except in Firefox
   *   (simulcastByDefault)
   */
  constructor({ url, session, slots = DEFAULT_SLOTS, rtcConfiguration = {}, adaptivePlayout = true, resume = true,
    iceRestart = true, simulcast = simulcastByDefault() } = {}) {
    super();
    const u = new URL(url || defaultUrl());
    if (session != null) u.searchParams.set("session", session);
    this.#url = u.href;
    this.#sessionParam = session;
    this.#slotCount = slots;
    this.#rtcConfiguration = rtcConfiguration;
    if (adaptivePlayout) this.#playout = new RepairPlayout();
    this.#resume = resume;
    this.#autoIceRestart = iceRestart;
    this.#simulcast = simulcast;
  }

  /** @type {string|null} the token for the next `resume` (a secret: keep it in this tab only) */
  get resumeToken() { return this.#resumeToken; }
  /** Mids of the video slots the server paused for this connection's bandwidth (`downlink`). */
  get pausedMids() { return this.#pausedMids; }
  /** @type {boolean} the socket dropped and the client is resuming */
  get reconnecting() { return this.#reconnecting; }

  /** @type {WebSocket|null} the open (or opening) socket; null once closed by close() */
  get socket() { return this.#socket; }
  /** @type {RTCPeerConnection|null} */
  get peerConnection() { return this.#pc; }
  /** @type {string|null} this participant's id in rosters and slot maps */
  get participantId() { return this.#participantId; }
  /** @type {string|null} the room this participant is in: `joined.room`, then its own roster entry's `room` */
  get room() { return this.#room; }
  /** @type {boolean} joined and not yet left or removed */
  get joined() { return this.#joined; }
  /** @type {Readonly<Record<string, SlotSource>>} the current slot map, mid -> source (frozen) */
  get slots() { return this.#slots; }
  /** @type {number} version of `slots`; -1 before the first map */
  get slotsVersion() { return this.#slotsVersion; }
  /** @type {ReadonlyArray<Object>} roster entries {participantId, name, role, room} (frozen) */
  get roster() { return this.#roster; }
  /** @type {Object|null} the latest `session` message */
  get session() { return this.#session; }
  /** @type {number} version of `session`; -1 before the first */
  get sessionVersion() { return this.#sessionVersion; }
  /** @type {ReadonlyArray<string>} participant ids speaking in this room (frozen) */
  get speaking() { return this.#speaking; }
  /** @type {number|null} the video playout delay asked of the browser now, ms (RepairPlayout); null: its own */
  get playoutTarget() { return this.#playout ? this.#playout.target : null; }

  /**
   * Opens the WebSocket; resolves once it is open. `join` calls it when
   * needed. Rejects with ConnectionError when the socket cannot open.
   * @returns {Promise<void>}
   */
  connect() {
    if (this.#closed) return Promise.reject(new ConnectionError("this client is closed", null, false));
    if (this.#opened) return this.#opened;
    const ws = new WebSocket(this.#url);
    this.#socket = ws;
    this.#opened = new Promise((resolve, reject) => {
      let open = false;
      ws.addEventListener("open", () => {
        if (ws !== this.#socket) return;
        open = true;
        resolve();
        this.#emit("open", null);
      });
      ws.addEventListener("close", (e) => {
        if (!open) reject(new ConnectionError("cannot reach the server", e.code, false));
        if (ws === this.#socket) this.#onSocketClosed(e);
      });
      ws.addEventListener("message", (e) => {
        if (ws !== this.#socket) return;
        let msg;
        try { msg = JSON.parse(e.data); } catch { return; }
        if (msg && typeof msg === "object" && !Array.isArray(msg)) this.receive(msg);
      });
    });
    return this.#opened;
  }

  /**
   * Builds the Cohort offer, sends `join` and applies the answer. The offer:
   * own microphone and camera sendonly (inactive when absent), then `slots`
   * recvonly audio and `slots` recvonly video sections, Opus and VP8+rtx
   * only, one BUNDLE group. The ICE-lite server never checks our candidates,
   * so the offer goes out at once, without waiting for gathering (RFC 8445
   * §2.5). Resolves with the `joined` message once the answer is set; on
   * failure the client is closed and the promise rejects (CohortError with
   * the server's code, ConnectionError, or the browser's error).
   * @param {Object} options
   * @param {string} options.token the join token
   * @param {string} [options.name] display name; default: the token's
   * @param {MediaStreamTrack|null} [options.audio] microphone track to send
   * @param {MediaStreamTrack|null} [options.video] camera track to send
   * @param {MediaStream} [options.stream] stream the sent tracks belong to (msid)
   * @param {"forward"|"mix"} [options.audioMode]
   * @param {{participantId: string, resumeToken: string}} [options.resume] come back as this
   *   participant instead of joining anew (a reloaded page, docs/PROTOCOL.md "Resuming
   *   after a reload"): `resume`, then `ice-restart` with this new peer connection's offer.
   *   Rejects with CohortError when the server refuses (the caller then joins anew).
   * @returns {Promise<Object>} the `joined` message, or the `resumed` one
   */
  async join({ token, name, audio = null, video = null, stream, audioMode, resume } = {}) {
    if (this.#pc || this.#closed) throw new Error("CohortClient.join: one join per client; create a new client");
    try {
      const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", ...this.#rtcConfiguration });
      this.#pc = pc;
      const streams = [stream || new MediaStream([audio, video].filter(Boolean))];
      const add = (trackOrKind, kind, direction, extra = {}) => {
        const t = pc.addTransceiver(trackOrKind, direction === "recvonly" ? { direction } : { direction, streams, ...extra });
        preferCohortCodecs(t, kind);
        return t;
      };
      add(audio || "audio", "audio", audio ? "sendonly" : "inactive");
      add(video || "video", "video", video ? "sendonly" : "inactive",
        video && this.#simulcast ? { sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })) } : {});
      const receive = [];
      for (const kind of ["audio", "video"]) {
        for (let index = 0; index < this.#slotCount; index++) receive.push({ kind, index, transceiver: add(kind, kind, "recvonly") });
      }
      // The screen share (docs/PROTOCOL.md "Screen sharing"): a send section,
      // idle until shareScreen() puts a track on it (replaceTrack, no
      // renegotiation), and the room's one screen slot. Both are marked
      // `a=content:slides` (RFC 4796) in what the server gets.
      const screenSend = add("video", "video", "sendonly");
      this.#screenSender = screenSend.sender;
      receive.push({ kind: "screen", index: 0, transceiver: add("video", "video", "recvonly") });
      // The offer is applied only after `joined`: its `iceServers` (TURN
      // with credentials made at join) must be in the configuration before
      // gathering starts, which setLocalDescription does. Until then each
      // slot's mid is read from the offer: its m-lines follow the transceivers.
      const offer = await pc.createOffer();
      const mids = offerMids(offer.sdp);
      this.#routes = receive.map((r, i) => ({ ...r, mid: mids[2 + i + (r.kind === "screen" ? 1 : 0)] }));
      this.#screenMids = [mids[2 + 2 * this.#slotCount], mids[3 + 2 * this.#slotCount]];

      if (resume) return await this.#resumeWith(pc, offer, resume);

      let reply;
      for (let hops = 0; ; hops++) {
        await this.connect();
        reply = await this.request("join", { token, name: name || undefined, sdp: this.#marked(offer.sdp), audioMode });
        if (reply.type !== "redirect") break;
        // The session lives on another node (docs/SCALE-OUT.md): the same join there.
        if (hops >= MAX_REDIRECTS) throw new CohortError("too-many-redirects", `more than ${MAX_REDIRECTS} redirects`);
        this.#follow(reply.url);
      }
      this.#participantId = reply.participantId;
      this.#room = typeof reply.room === "string" ? reply.room : null;
      this.#joined = true;
      this.#ssrcs = parseAnswerSsrcs(reply.sdp);
      // Pushes may have overtaken the reply: a roster received before it is
      // newer than `joined.roster`, and a slot map only applies if newer.
      if (!this.#rosterPushed) this.#applyRoster(reply.roster);
      this.#applySlots(reply.slots, typeof reply.slotsVersion === "number" ? reply.slotsVersion : undefined);
      if (Array.isArray(reply.iceServers) && reply.iceServers.length > 0) {
        const configuration = pc.getConfiguration();
        pc.setConfiguration({ ...configuration, iceServers: [...(configuration.iceServers || []), ...reply.iceServers] });
      }
      await pc.setLocalDescription(offer);
      this.#keepResumeToken(reply);
      this.#emit("joined", reply);
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      this.#startPlayout(pc);
      if (this.#autoIceRestart) this.#watchConnectivity(pc);
      return reply;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Sends one request with a fresh `id`; resolves with the reply bearing it
   * (`ok`, `joined`, `left`), rejects with CohortError when the reply is
   * `error`, or with ConnectionError when the socket closes first.
   * @param {string} type e.g. "hand", "move", "create-rooms"
   * @param {Object} [fields] the message's other fields
   * @returns {Promise<Object>}
   */
  request(type, fields = {}) {
    const ws = this.#socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new ConnectionError("not connected", null, false));
    const id = String(this.#nextId++);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  /**
   * Applies one server message, exactly as if it had arrived on the socket
   * (every socket message goes through here). Public so that tests and
   * tools can feed messages; an app normally never calls it.
   * @param {Object} msg
   */
  receive(msg) {
    if (typeof msg.id === "string" && this.#pending.has(msg.id)) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.type === "error") p.reject(new CohortError(msg.code, msg.message, msg.retryAfter));
      else p.resolve(msg);
    } else {
      switch (msg.type) {
        case "slots": this.#applySlots(msg.map, msg.version); break;
        case "roster": this.#rosterPushed = true; this.#applyRoster(msg.participants); break;
        case "session": this.#applySession(msg); break;
        case "speaking":
          this.#speaking = Object.freeze(Array.isArray(msg.participants) ? msg.participants.filter((p) => typeof p === "string") : []);
          this.#emit("speaking", { participants: this.#speaking });
          break;
        case "broadcast": case "chat": this.#emit(msg.type, msg); break;
        case "downlink":
          // Video slots the server paused for this connection (docs/PROTOCOL.md `downlink`).
          this.#pausedMids = Object.freeze(Array.isArray(msg.paused) ? msg.paused.filter((m) => typeof m === "string") : []);
          this.#emit("downlink", { paused: this.#pausedMids, suggestAudioMix: msg.suggestAudioMix === true });
          break;
        case "left":
          this.#joined = false;
          if (this.#screenTrack) this.#endScreen("left");
          if (this.#unwatchNetwork) this.#unwatchNetwork();
          if (this.#pc) this.#pc.close();
          this.#emit("left", { reason: msg.reason });
          break;
        case "error": this.#emit("error", new CohortError(msg.code, msg.message)); break;
        case "server-shutdown":
          // Media has ended (RTCP BYE); the socket closes with 1001 next.
          this.#shutdownAnnounced = true;
          this.#emit("shutdown", { retryAfter: Number.isFinite(msg.retryAfter) ? msg.retryAfter : 5 });
          break;
      }
    }
    this.#emit("message", msg);
  }

  /**
   * Restarts ICE (docs/PROTOCOL.md `ice-restart`): a new offer with new
   * ICE credentials, `ice-restart`, then the answer. Slots, SSRCs and DTLS
   * stay as they are. The client calls it by itself (IceRestartPolicy)
   * unless built with `iceRestart: false`. A restart asked for while one
   * runs joins it. Emits `icerestart` with phase `start`, then `done` or
   * `failed`. Resolves with the `ice-restarted` reply; rejects with
   * CohortError (the offer is then rolled back) or ConnectionError.
   * @param {string} [reason] why, for the event: "disconnected", "failed", "network", or the app's
   * @returns {Promise<Object>}
   */
  restartIce(reason = "app") {
    if (this.#restarting) return this.#restarting;
    const pc = this.#pc;
    if (!pc || !this.#joined || pc.connectionState === "closed") return Promise.reject(new ConnectionError("not joined", null, false));
    const run = async () => {
      this.#emit("icerestart", { reason, phase: "start" });
      try {
        await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
        let reply;
        try {
          reply = await this.request("ice-restart", { sdp: this.#marked(pc.localDescription.sdp) });
        } catch (err) {
          if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
          throw err;
        }
        await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
        this.#emit("icerestart", { reason, phase: "done" });
        return reply;
      } catch (err) {
        this.#emit("icerestart", { reason, phase: "failed", code: err && err.code });
        throw err;
      }
    };
    this.#restarting = run().finally(() => { this.#restarting = null; });
    return this.#restarting;
  }

  // Feeds IceRestartPolicy: the peer connection's ICE state, and the
  // browser's network events while the connection lives.
  #watchConnectivity(pc) {
    const policy = this.#iceRestarts = new IceRestartPolicy({ restart: (reason) => this.restartIce(reason) });
    pc.addEventListener("iceconnectionstatechange", () => policy.iceState(pc.iceConnectionState));
    policy.iceState(pc.iceConnectionState);
    // Once a second: the transport's bytesReceived (RTCP alone brings some every second).
    const sample = setInterval(async () => {
      if (pc.connectionState === "closed") return;
      try {
        let bytes = 0;
        (await pc.getStats()).forEach((s) => { if (s.type === "transport") bytes += s.bytesReceived || 0; });
        policy.traffic(bytes);
      } catch { /* closed while sampling */ }
    }, 1000);
    const changed = () => policy.networkChanged();
    const connection = typeof navigator !== "undefined" ? navigator.connection : undefined;
    if (typeof window !== "undefined") window.addEventListener("online", changed);
    if (connection && connection.addEventListener) connection.addEventListener("change", changed);
    this.#unwatchNetwork = () => {
      clearInterval(sample);
      policy.close();
      if (typeof window !== "undefined") window.removeEventListener("online", changed);
      if (connection && connection.removeEventListener) connection.removeEventListener("change", changed);
    };
  }

  /**
   * Leaves: sends `leave`, waits for `left`, then closes. Never rejects:
   * a failed `leave` still closes the connection, which the server treats
   * as leaving.
   * @returns {Promise<void>}
   */
  async leave() {
    try { if (this.#joined) await this.request("leave"); } catch { /* closing below leaves as well */ }
    this.close(1000, "left");
  }

  /**
   * Closes the socket and the peer connection at once (no `close` event);
   * waiting requests reject with ConnectionError. Local tracks are the
   * caller's and keep running. Idempotent.
   * @param {number} [code] WebSocket close code (1000 or 3000-4999)
   * @param {string} [reason]
   */
  close(code = 1000, reason = "") {
    this.#closed = true;
    clearTimeout(this.#playoutTimer);
    if (this.#unwatchNetwork) this.#unwatchNetwork();
    this.#unwatchNetwork = null;
    this.#joined = false;
    if (this.#screenTrack) this.#endScreen("left");
    const ws = this.#socket;
    this.#socket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
    this.#rejectPending(new ConnectionError("closed by the client", null, !!ws));
    if (this.#pc) this.#pc.close();
  }

  /**
   * Every receive slot (optionally of one kind) with its receiver and
   * current source, in offer order. Empty before `join` built the offer.
   * @param {"audio"|"video"} [kind] @returns {SlotRoute[]}
   */
  routes(kind) {
    return this.#routes.filter((r) => !kind || r.kind === kind).map((r) => this.#view(r));
  }

  /** The receive slot with this mid. @param {string} mid @returns {SlotRoute|undefined} */
  route(mid) {
    const r = this.#routes.find((x) => x.mid === mid);
    return r && this.#view(r);
  }

  /**
   * The receive slot the answer gave this SSRC (media or rtx), e.g. the
   * `ssrc` of an inbound-rtp statistic. @param {number} ssrc @returns {SlotRoute|undefined}
   */
  routeBySsrc(ssrc) {
    for (const [mid, s] of this.#ssrcs) if (s.ssrc === ssrc || s.rtxSsrc === ssrc) return this.route(mid);
    return undefined;
  }

  /**
   * The receive slots that carry a participant now, optionally one track
   * ("microphone", "camera", "screen"). @param {string} participantId
   * @param {string} [track] @returns {SlotRoute[]}
   */
  routesFor(participantId, track) {
    return this.routes().filter((r) => r.source && r.source.participantId === participantId && (!track || r.source.track === track));
  }

  #view(r) {
    const s = this.#ssrcs.get(r.mid);
    return Object.freeze({ mid: r.mid, kind: r.kind, index: r.index, receiver: r.transceiver.receiver,
      track: r.transceiver.receiver.track, ssrc: s ? s.ssrc : null, rtxSsrc: s ? s.rtxSsrc : null,
      source: this.#slots[r.mid] || null });
  }

  // A map applies only if its version is higher than the one held: a push
  // can overtake the `joined` reply (docs/PROTOCOL.md `slots`). A map
  // without a version (a `joined` from a server without `slotsVersion`) applies.
  #applySlots(map, version) {
    if (typeof version === "number") {
      if (version <= this.#slotsVersion) return;
      this.#slotsVersion = version;
    }
    const previous = this.#slots;
    this.#slots = freezeMap(map);
    const changed = [...new Set([...Object.keys(previous), ...Object.keys(this.#slots)])]
      .filter((mid) => !sameSource(previous[mid], this.#slots[mid]));
    for (const mid of changed) {
      const r = this.#routes.find((x) => x.mid === mid);
      if (r) this.#emit("track", { route: this.#view(r), previous: previous[mid] || null });
    }
    this.#emit("slots", { map: this.#slots, version: this.#slotsVersion, changed });
  }

  // A roster has no version: the latest received is the newest.
  #applyRoster(participants) {
    const list = Array.isArray(participants) ? participants.filter((p) => p && typeof p === "object") : [];
    this.#roster = Object.freeze(list.map((p) => Object.freeze({ ...p })));
    const me = this.#roster.find((p) => p.participantId === this.#participantId);
    if (me && typeof me.room === "string") this.#room = me.room;
    this.#emit("roster", { participants: this.#roster });
  }

  // Sent whole with a growing version; may arrive before `joined`.
  #applySession(msg) {
    if (typeof msg.version === "number") {
      if (msg.version <= this.#sessionVersion) return;
      this.#sessionVersion = msg.version;
    }
    this.#session = msg;
    // The server ended our share (a move to another room, a host taking the
    // right back): stop sending and capturing.
    if (this.#screenTrack && Array.isArray(msg.rooms)
        && !msg.rooms.some((r) => r && r.screen === this.#participantId)) this.#endScreen("server");
    this.#emit("session", msg);
  }

  // The offer as the server gets it: the screen's send section and slot
  // marked `a=content:slides` (RFC 4796 §5), right after their mids. The
  // browser's own description stays as it made it.
  #marked(sdp) {
    if (!this.#screenMids) return sdp;
    const marks = new Set(this.#screenMids.map((m) => `a=mid:${m}`));
    return sdp.split("\r\n").flatMap((l) => (marks.has(l) ? [l, "a=content:slides"] : [l])).join("\r\n");
  }

  /** @type {MediaStreamTrack|null} the screen track this client shares now */
  get screenTrack() { return this.#screenTrack; }

  /**
   * Shares a screen or window with this participant's room (docs/PROTOCOL.md
   * "Screen sharing"): `screen-share`, then the track goes on the idle send
   * section. Stops by itself when the track ends (the browser's own "Stop
   * sharing") or when the server ends the share; emits `screen` with
   * `{sharing, reason}` on each change. Rejects with CohortError
   * (`forbidden`, `screen-busy`) and sends nothing then.
   * @param {MediaStreamTrack} track e.g. from getDisplayMedia()
   */
  async shareScreen(track) {
    if (!this.#screenSender) throw new Error("CohortClient.shareScreen: join first");
    if (this.#screenTrack) await this.stopScreen();
    await this.request("screen-share", { sharing: true });
    this.#screenTrack = track;
    await this.#screenSender.replaceTrack(track);
    track.addEventListener("ended", () => { if (this.#screenTrack === track) this.stopScreen().catch(() => {}); });
    this.#emit("screen", { sharing: true, reason: "started" });
  }

  /** Stops sharing (a no-op when not sharing). @returns {Promise<void>} */
  async stopScreen() {
    if (!this.#screenTrack) return;
    this.#endScreen("stopped");
    if (this.#joined) await this.request("screen-share", { sharing: false });
  }

  #endScreen(reason) {
    const track = this.#screenTrack;
    this.#screenTrack = null;
    if (this.#screenSender) this.#screenSender.replaceTrack(null).catch(() => {});
    if (track) track.stop();
    this.#emit("screen", { sharing: false, reason });
  }

  // Every 2 s while the peer connection lives: one sample, and the video
  // receivers' playout delay set when RepairPlayout changes it.
  #startPlayout(pc) {
    const playout = this.#playout;
    if (!playout || typeof RTCRtpReceiver === "undefined" || !("jitterBufferTarget" in RTCRtpReceiver.prototype)) return;
    let applied = null;
    const tick = async () => {
      this.#playoutTimer = null;
      if (pc.connectionState === "closed" || this.#pc !== pc) return;
      try {
        const target = playout.update(await repairSample(pc));
        if (target !== applied) {
          applied = target;
          for (const r of this.#routes) if (r.kind === "video") r.transceiver.receiver.jitterBufferTarget = target;
        }
      } catch { /* closed while sampling */ }
      if (pc.connectionState !== "closed") this.#playoutTimer = setTimeout(tick, 2000);
    };
    this.#playoutTimer = setTimeout(tick, 2000);
  }

  // Leaves the current socket (the server closes it after `redirect`) for
  // the node at `url`; only ws: and wss: URLs are followed.
  #follow(url) {
    let u;
    try { u = new URL(url); } catch { throw new CohortError("bad-redirect", "redirect to an invalid URL"); }
    if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new CohortError("bad-redirect", "redirect to a non-WebSocket URL");
    if (this.#sessionParam != null) u.searchParams.set("session", this.#sessionParam);
    const old = this.#socket;
    this.#socket = null;
    this.#opened = null;
    this.#url = u.href;
    this.#redirected = true;
    if (old && old.readyState <= WebSocket.OPEN) old.close(1000, "redirected");
    this.#emit("redirect", { url: u.href });
  }

  // A reloaded page comes back as the participant it was: `resume` takes
  // over its signalling, then `ice-restart` gives the kept participant this
  // new peer connection (new ICE credentials, a new DTLS association; the
  // server kept its slots, whose SSRCs the answer repeats).
  async #resumeWith(pc, offer, { participantId, resumeToken }) {
    await this.connect();
    const reply = await this.request("resume", { participantId, resumeToken });
    if (reply.type === "left") throw new CohortError("removed", `removed while away (${reply.reason})`);
    this.#participantId = participantId;
    this.#room = typeof reply.room === "string" ? reply.room : null;
    this.#joined = true;
    this.#applyRoster(reply.roster);
    this.#applySlots(reply.slots, typeof reply.slotsVersion === "number" ? reply.slotsVersion : undefined);
    this.#keepResumeToken(reply);
    await pc.setLocalDescription(offer);
    const restarted = await this.request("ice-restart", { sdp: this.#marked(offer.sdp) });
    this.#ssrcs = parseAnswerSsrcs(restarted.sdp);
    this.#emit("joined", { ...reply, resumedAfterReload: true });
    await pc.setRemoteDescription({ type: "answer", sdp: restarted.sdp });
    this.#startPlayout(pc);
    if (this.#autoIceRestart) this.#watchConnectivity(pc);
    return reply;
  }

  #keepResumeToken(msg) {
    if (typeof msg.resumeToken !== "string") return;
    this.#resumeToken = msg.resumeToken;
    if (Number.isFinite(msg.resumeGrace)) this.#resumeGrace = msg.resumeGrace;
    this.#emit("resume-token", { participantId: this.#participantId, resumeToken: this.#resumeToken });
  }

  // The socket dropped while joined: reconnect with jittered back-off and
  // `resume` (docs/PROTOCOL.md), within the server's grace period. Media
  // never stopped; only signalling is restored. Ends with `resumed`, or
  // with `resume-failed` and `close` (or `left`, when the server removed
  // this participant while it was away).
  async #reconnect(code) {
    this.#reconnecting = true;
    this.#rejectPending(new ConnectionError(`the connection closed (${code})`, code, true));
    const until = performance.now() + this.#resumeGrace * 1000;
    let failure = "unreachable";
    const started = performance.now();
    for (let attempt = 1; !this.#closed; attempt++) {
      if (performance.now() - started > (this.#redirected ? RESUME_UNREACHABLE_REDIRECTED_MS : RESUME_UNREACHABLE_MS)) break;
      const delayMs = resumeDelay(attempt);
      if (performance.now() + delayMs > until) break;
      this.#emit("reconnecting", { attempt, delayMs, code });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.#closed) return;
      this.#socket = null;
      this.#opened = null;
      let reply;
      try {
        await this.connect();
        reply = await this.request("resume", { participantId: this.#participantId, resumeToken: this.#resumeToken });
      } catch (err) {
        if (err instanceof CohortError) {
          // `busy`: the server is shutting down; anything else: resume is over.
          failure = err.code === "busy" ? "unreachable" : err.code;
          break;
        }
        continue;  // the socket did not open or closed: try again
      }
      if (this.#closed) return;
      if (reply.type === "left") {
        // Removed while away; `receive` does not see replies, so apply it here.
        this.#reconnecting = false;
        this.#joined = false;
        this.#closeQuietly();
        this.#emit("left", { reason: reply.reason });
        return;
      }
      this.#reconnecting = false;
      this.#room = typeof reply.room === "string" ? reply.room : this.#room;
      this.#applyRoster(reply.roster);
      this.#applySlots(reply.slots, typeof reply.slotsVersion === "number" ? reply.slotsVersion : undefined);
      this.#keepResumeToken(reply);
      this.#emit("resumed", reply);
      return;
    }
    if (this.#closed) return;
    this.#reconnecting = false;
    this.#resumeToken = null;
    this.#emit("resume-failed", { code: failure });
    this.#closeQuietly();
    this.#emit("close", { code, reason: "", joined: true });
  }

  // Closes socket and peer connection without the events of close().
  #closeQuietly() {
    this.#closed = true;
    this.#joined = false;
    clearTimeout(this.#playoutTimer);
    const ws = this.#socket;
    this.#socket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "");
    this.#rejectPending(new ConnectionError("closed", null, !!ws));
    if (this.#pc) this.#pc.close();
  }

  #onSocketClosed(e) {
    if (this.#reconnecting) {
      // A resume attempt's socket: the loop in #reconnect goes on.
      this.#socket = null;
      this.#opened = null;
      this.#rejectPending(new ConnectionError(`the connection closed (${e.code})`, e.code, true));
      return;
    }
    if (this.#joined && this.#resume && this.#resumeToken && !this.#shutdownAnnounced && !NO_RESUME_CODES.has(e.code)) {
      this.#socket = null;
      this.#opened = null;
      this.#reconnect(e.code);
      return;
    }
    const wasJoined = this.#joined;
    if (this.#unwatchNetwork) this.#unwatchNetwork();
    this.#joined = false;
    this.#socket = null;
    this.#closed = true;
    this.#rejectPending(new ConnectionError(`the connection closed (${e.code})`, e.code, true));
    this.#emit("close", { code: e.code, reason: e.reason, joined: wasJoined });
  }

  #rejectPending(err) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
