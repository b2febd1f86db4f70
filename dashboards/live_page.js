// The live page: draws the state the server pushes over /ws and acknowledges each message once drawn.
"use strict";

const $ = (id) => document.getElementById(id);
const GAUGE = { cx: 110, cy: 112, r: 90 };
let socket = null;
let retryTimer = null;
let retries = 0;
let seenCues = null; // cues already signalled (null until the first state: old cues never ring again)
let audio = null;
let tones = 0;

function streamUrl() {
  const url = new URL("ws" + location.search, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (socket && socket.readyState <= WebSocket.OPEN) return;
  socket = new WebSocket(streamUrl());
  socket.onopen = () => {
    retries = 0;
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    draw(message.state);
    // acknowledged after the frame that shows it: the server times sample arrival to here
    requestAnimationFrame(() => {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ ack: message.seq, by: "page" }));
    });
  };
  socket.onclose = () => {
    setLink("bad", "reconnecting…");
    socket = null;
    retries += 1;
    retryTimer = setTimeout(connect, Math.min(3000, 250 * 2 ** Math.min(retries, 4)));
  };
}

// A phone that sleeps drops the socket; on waking, reconnect at once and get the whole state again.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) connect();
});
window.addEventListener("online", connect);

function setLink(kind, text) {
  const link = $("link");
  link.className = kind;
  link.textContent = text;
}

function point(angleDeg, lo, hi, r) {
  const share = Math.min(1, Math.max(0, (angleDeg - lo) / (hi - lo)));
  const theta = Math.PI * (1 - share);
  return [GAUGE.cx + r * Math.cos(theta), GAUGE.cy - r * Math.sin(theta)];
}

function arc(from, to, lo, hi) {
  const [x0, y0] = point(from, lo, hi, GAUGE.r);
  const [x1, y1] = point(to, lo, hi, GAUGE.r);
  return `M ${x0.toFixed(1)} ${y0.toFixed(1)} A ${GAUGE.r} ${GAUGE.r} 0 0 1 ${x1.toFixed(1)} ${y1.toFixed(1)}`;
}

function drawGauge(s) {
  const limit = s.flexion_limit_deg;
  const lo = -(s.extension_limit_deg + 20);
  const hi = Math.max(90, limit + 30);
  $("arc-all").setAttribute("d", arc(lo, hi, lo, hi));
  $("arc-band").setAttribute("d", arc(-s.extension_limit_deg, limit, lo, hi));
  $("arc-over").setAttribute("d", arc(limit, hi, lo, hi));
  const [tx0, ty0] = point(limit, lo, hi, GAUGE.r - 14);
  const [tx1, ty1] = point(limit, lo, hi, GAUGE.r + 12);
  const tick = $("limit-tick");
  tick.setAttribute("x1", tx0);
  tick.setAttribute("y1", ty0);
  tick.setAttribute("x2", tx1);
  tick.setAttribute("y2", ty1);
  const angle = s.lumbar_deg === null ? 0 : s.lumbar_deg;
  const [nx, ny] = point(angle, lo, hi, GAUGE.r - 4);
  $("needle").setAttribute("x2", nx.toFixed(1));
  $("needle").setAttribute("y2", ny.toFixed(1));
  $("angle").textContent = s.angle_text;
  $("angle-label").textContent =
    `lumbar angle · your band: ${s.band_text}`;
}

let drawnReps = "";

function drawReps(s) {
  const peaks = s.rep_peaks_deg;
  const key = JSON.stringify([s.set_number, s.recording, s.rep_peak_texts, s.flexion_limit_deg]);
  if (key === drawnReps) return; // most messages move only the needle
  drawnReps = key;
  $("rep-count").textContent = String(peaks.length);
  $("set-label").textContent = s.set_number ? `set ${s.set_number}${s.recording ? "" : " · saved"}` : "no set yet";
  const top = Math.max(s.flexion_limit_deg * 1.5, ...peaks);
  const list = $("peaks");
  list.replaceChildren(
    ...peaks.map((peak, i) => {
      const item = document.createElement("li");
      const over = peak > s.flexion_limit_deg;
      item.className = over ? "over" : "";
      item.innerHTML =
        `<span class="n">${i + 1}</span>` +
        `<span class="bar"><i style="width:${((100 * Math.max(peak, 0)) / top).toFixed(1)}%"></i>` +
        `<b style="left:${((100 * s.flexion_limit_deg) / top).toFixed(1)}%"></b></span>` +
        `<span class="v">${s.rep_peak_texts[i]}${over ? " past" : ""}</span>`;
      return item;
    }),
  );
}

function drawStatus(s) {
  if (s.recording === false) setLink("ok", s.guide ? "calibration saved" : "set saved");
  else setLink("ok", "live");
  $("sensors").textContent = (s.sensors || [])
    .map((sensor) => {
      const battery = sensor.battery_percent === null ? "" : ` ${Math.round(sensor.battery_percent)} %`;
      const link = sensor.connected ? "●" : s.recording ? "○ reconnecting" : "○ off";
      return `${sensor.placement} ${link}${battery}`;
    })
    .join(" · ");
  const sync = $("sync");
  if (s.sync_lag_s === null || s.sync_lag_s === undefined) {
    sync.textContent = "";
  } else if (s.sync_lag_s > 0.25) {
    sync.className = "bad";
    sync.textContent = `out of step ${s.sync_lag_s.toFixed(1)} s`;
  } else {
    sync.className = "ok";
    sync.textContent = "in sync";
  }
}

function drawGuide(guide) {
  $("guide").hidden = !guide;
  if (!guide) return;
  const finished = guide.phase === "finished";
  $("guide-step").textContent = finished
    ? "all steps done"
    : `step ${guide.step} of ${guide.steps}${guide.tries > 1 ? ` · try ${guide.tries}` : ""} · ${guide.phase}`;
  $("guide-prompt").textContent = guide.prompt;
  const mark = { done: "✓", finished: "✓", again: "once more" }[guide.phase] || "";
  $("guide-count").textContent = guide.countdown_s ? String(guide.countdown_s) : mark;
  $("guide-message").textContent = guide.message || "";
  $("guide-done").replaceChildren(
    ...guide.done.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
  $("guide").className = `card ${guide.phase === "again" ? "failed" : ""}`;
}

function draw(s) {
  drawStatus(s);
  drawGuide(s.guide);
  const live = s.flexion_limit_deg !== undefined;
  $("gauge-card").hidden = !live;
  $("reps-card").hidden = !live;
  $("cue-card").hidden = !live;
  if (!live) return;
  document.body.classList.toggle("over", s.over_limit);
  drawGauge(s);
  drawReps(s);
  $("cue-policy").textContent = s.cue_policy;
  $("cue-count").textContent = String(s.cues);
  $("cue-outside").textContent =
    s.cues > s.cues_in_reps ? `, ${s.cues - s.cues_in_reps} of them between reps (e.g. putting the bar down)` : "";
  if (seenCues !== null && s.cues > seenCues) cue();
  seenCues = s.cues;
}

function cue() {
  document.body.dataset.cues = String(Number(document.body.dataset.cues || 0) + 1);
  if (!audio) return;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.4, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.3);
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.3);
  tones += 1;
  document.body.dataset.tones = String(tones);
}

$("sound").addEventListener("click", () => {
  if (audio) {
    audio.close();
    audio = null;
    $("sound").textContent = "Turn sound on";
    return;
  }
  audio = new AudioContext();
  audio.resume();
  $("sound").textContent = "Sound on · tap to mute";
});

connect();
