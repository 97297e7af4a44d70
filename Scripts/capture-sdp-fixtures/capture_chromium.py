"""Capture real Chromium offers as SDP fixtures over the DevTools protocol.

Run inside a loopback-only namespace so no traffic can leave the host:

    unshare -n sh -c 'ip link set lo up; \
        /work/main/.venv-e2e/bin/python Scripts/capture-sdp-fixtures/capture_chromium.py \
        Tests/SDPTests/Fixtures'

Starts headless Chromium with fake media devices, opens a page served from
http://127.0.0.1 (a secure context, so getUserMedia works), and for each
scenario builds an RTCPeerConnection, creates an offer, sets it as the local
description, waits for ICE gathering to complete and writes
localDescription.sdp byte for byte:

  chromium-audio-video.sdp    camera + microphone, sendrecv
  chromium-cohort-client.sdp  camera + microphone, plus 4 recvonly audio and
                              4 recvonly video transceivers (Cohort's shape)
  chromium-simulcast.sdp      microphone + camera sent with three rids
  chromium-datachannel.sdp    microphone + camera plus a data channel
"""

import asyncio
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websockets

SETUP = """
async function cohortOffer(build) {
  const pc = new RTCPeerConnection();
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  build(pc, stream);
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise(resolve => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  }
  const sdp = pc.localDescription.sdp;
  pc.close();
  stream.getTracks().forEach(t => t.stop());
  return sdp;
}
"""

SCENARIOS = {
    "chromium-audio-video.sdp": """
      (pc, stream) => { for (const t of stream.getTracks()) pc.addTrack(t, stream); }
    """,
    "chromium-cohort-client.sdp": """
      (pc, stream) => {
        for (const t of stream.getTracks()) pc.addTrack(t, stream);
        for (let i = 0; i < 4; i++) pc.addTransceiver('audio', {direction: 'recvonly'});
        for (let i = 0; i < 4; i++) pc.addTransceiver('video', {direction: 'recvonly'});
      }
    """,
    "chromium-simulcast.sdp": """
      (pc, stream) => {
        pc.addTrack(stream.getAudioTracks()[0], stream);
        pc.addTransceiver(stream.getVideoTracks()[0], {
          direction: 'sendonly',
          streams: [stream],
          sendEncodings: [
            {rid: 'q', scaleResolutionDownBy: 4.0},
            {rid: 'h', scaleResolutionDownBy: 2.0},
            {rid: 'f'},
          ],
        });
      }
    """,
    "chromium-datachannel.sdp": """
      (pc, stream) => {
        for (const t of stream.getTracks()) pc.addTrack(t, stream);
        pc.createDataChannel('cohort');
      }
    """,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_blank_page() -> int:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>cohort sdp capture</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def wait_for_page_target(port: int, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                for target in json.load(r):
                    if target.get("type") == "page":
                        return target["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("Chromium DevTools endpoint did not come up")


class DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression,
                                 awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"], indent=1))
        return result["result"].get("value")


async def capture(ws_url: str, page_url: str, out_dir: str) -> None:
    async with websockets.connect(ws_url, max_size=None) as ws:
        devtools = DevTools(ws)
        await devtools.call("Page.enable")
        await devtools.call("Page.navigate", url=page_url)
        for _ in range(100):
            if await devtools.evaluate("document.readyState") == "complete" and \
               await devtools.evaluate("location.href") == page_url:
                break
            await asyncio.sleep(0.1)
        assert await devtools.evaluate("isSecureContext"), "page is not a secure context"
        await devtools.evaluate(SETUP)
        for name, build in SCENARIOS.items():
            sdp = await devtools.evaluate(f"cohortOffer({build.strip()})")
            if "a=candidate:" not in sdp:
                raise SystemExit(f"{name}: no candidate gathered")
            with open(os.path.join(out_dir, name), "w", newline="") as f:
                f.write(sdp)
            print(f"wrote {name}: {len(sdp)} bytes")


def main(out_dir: str) -> None:
    page_port = serve_blank_page()
    devtools_port = free_port()
    profile = tempfile.mkdtemp(prefix="cohort-chromium-")
    browser = subprocess.Popen([
        "chromium", "--headless=new", "--no-sandbox",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        f"--remote-debugging-port={devtools_port}", f"--user-data-dir={profile}",
        "--no-first-run", "--no-default-browser-check", "about:blank",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ws_url = wait_for_page_target(devtools_port)
        asyncio.run(asyncio.wait_for(
            capture(ws_url, f"http://127.0.0.1:{page_port}/", out_dir), 60))
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
