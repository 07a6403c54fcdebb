// paxossim run viewer: a space-time diagram of one run, drawn on a canvas.
// Time runs left to right, one lane per node. Only what lies in the visible
// time window is drawn (binary search over send times), so a 100,000-event
// run stays responsive. The data is columnar (see paxossim/view/data.py).
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const E = D.ev, M = D.msg, T = D.text;
  const nEv = E.t.length, nMsg = M.id.length;
  const kindIndex = name => D.kinds.indexOf(name);
  const K = {send: kindIndex("send"), deliver: kindIndex("deliver"), dup: kindIndex("duplicate"),
             drop: kindIndex("drop")};
  const faultKinds = new Set(D.faults);
  const LEFT = 120, TOP = 34, RIGHT = 16, BOTTOM = 10;

  const canvas = document.getElementById("chart");
  const ctx = canvas.getContext("2d");
  const slider = document.getElementById("slider");
  const tooltip = document.getElementById("tooltip");
  const shownNode = D.nodes.map(() => true);
  const shownType = D.types.map(() => true);
  let cur = 0, t0 = 0, t1 = 1, selected = -1, hovered = -1;
  let width = 0, height = 0, pending = false;
  let maxFlight = 0;
  for (let i = 0; i < nMsg; i++) {
    if (M.te[i] !== null) maxFlight = Math.max(maxFlight, M.te[i] - M.ts[i]);
  }
  // Hit-testing: the segments drawn last frame.
  let segs = new Float64Array(0), segMsg = new Int32Array(0), nSegs = 0;
  let violMarks = [];

  const fmt = t => (Math.round(t * 1e6) / 1e6).toString();
  const unit = D.unit;
  function fit() {
    const end = D.end > 0 ? D.end : 1;
    t0 = -end * 0.01; t1 = end * 1.03;
  }
  function xOf(t) { return LEFT + (t - t0) / (t1 - t0) * (width - LEFT - RIGHT); }
  function tOf(x) { return t0 + (x - LEFT) / (width - LEFT - RIGHT) * (t1 - t0); }
  function lanes() {
    const shown = [];
    D.nodes.forEach((_, i) => { if (shownNode[i]) shown.push(i); });
    const h = shown.length ? Math.max(16, (height - TOP - BOTTOM) / shown.length) : 0;
    const y = new Float64Array(D.nodes.length).fill(NaN);
    shown.forEach((node, row) => { y[node] = TOP + (row + 0.5) * h; });
    return {y, h};
  }
  // First index in sorted array a whose value is >= v.
  function lowerBound(a, v) {
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function messageVisible(i) {
    return shownType[M.type[i]] && shownNode[M.src[i]] && shownNode[M.dst[i]];
  }
  function fate(i) {
    const lines = [];
    if (M.fate[i] === 0) lines.push(`delivered t=${fmt(M.te[i])} ${unit} (took ${fmt(M.te[i] - M.ts[i])})`);
    else if (M.fate[i] === 1) {
      const why = T[M.why[i]];
      lines.push(`dropped t=${fmt(M.te[i])} ${unit}: ` +
                 (why === "crashed" ? `sent to a crashed node (${D.nodes[M.dst[i]]} was down)` : why));
    } else lines.push("still in flight when the run ended");
    if (M.of[i] >= 0) lines.push(`a duplicate of message ${M.id[M.of[i]]}`);
    const copies = [];
    for (let j = i + 1; j < nMsg && M.ts[j] === M.ts[i]; j++) if (M.of[j] === i) copies.push(M.id[j]);
    if (copies.length) lines.push(`duplicated: copy ${copies.join(", ")}`);
    return lines;
  }
  function messageText(i) {
    return [`${T[M.label[i]]}`,
            `message ${M.id[i]}: ${D.types[M.type[i]]} ${D.nodes[M.src[i]]} -> ${D.nodes[M.dst[i]]}`,
            `sent t=${fmt(M.ts[i])} ${unit} (event #${M.es[i]})`, ...fate(i),
            `fields: ${T[M.fields[i]]}`].join("\n");
  }
  function eventText(i) {
    if (i < 0 || i >= nEv) return "";
    const kind = D.kinds[E.k[i]], node = E.n[i] >= 0 ? D.nodes[E.n[i]] : "";
    let label;
    if (E.m[i] >= 0) {
      const m = E.m[i], verb = kind === "send" ? "sends" : kind === "deliver" ? "receives" :
        kind === "drop" ? "loses" : "duplicates";
      label = `${kind === "deliver" ? D.nodes[M.dst[m]] : D.nodes[M.src[m]]} ${verb} ${T[M.label[m]]}` +
        ` (${D.nodes[M.src[m]]} -> ${D.nodes[M.dst[m]]}, message ${M.id[m]}` +
        (kind === "drop" ? `, ${T[M.why[m]]}` : "") + ")";
    } else label = T[E.l[i]];
    return `#${i} of ${nEv}  t=${fmt(E.t[i])} ${unit}  [${kind}${node ? " " + node : ""}]  ${label}`;
  }

  // -- drawing -------------------------------------------------------------
  function schedule() { if (!pending) { pending = true; requestAnimationFrame(draw); } }
  function resize() {
    const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    width = r.width; height = r.height;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    schedule();
  }
  function niceStep(span, target) {
    const raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const f of [1, 2, 5, 10]) if (raw <= f * p) return f * p;
    return 10 * p;
  }
  function pushSeg(x1, y1, x2, y2, m) {
    if (nSegs * 4 + 4 > segs.length) {
      const bigger = new Float64Array(Math.max(1024, segs.length * 2)); bigger.set(segs); segs = bigger;
      const more = new Int32Array(bigger.length / 4); more.set(segMsg); segMsg = more;
    }
    segs.set([x1, y1, x2, y2], nSegs * 4); segMsg[nSegs++] = m;
  }
  function arrowHead(x1, y1, x2, y2) {
    const a = Math.atan2(y2 - y1, x2 - x1), s = 6;
    ctx.beginPath(); ctx.moveTo(x2, y2);
    ctx.lineTo(x2 - s * Math.cos(a - 0.4), y2 - s * Math.sin(a - 0.4));
    ctx.lineTo(x2 - s * Math.cos(a + 0.4), y2 - s * Math.sin(a + 0.4));
    ctx.closePath(); ctx.fill();
  }
  function draw() {
    pending = false;
    ctx.clearRect(0, 0, width, height);
    const {y, h} = lanes();
    const now = nEv ? E.t[cur] : 0;
    const plotW = width - LEFT - RIGHT;
    // time axis
    ctx.fillStyle = "#444"; ctx.strokeStyle = "#e6e6e6"; ctx.lineWidth = 1; ctx.font = "11px sans-serif";
    const step = niceStep(t1 - t0, Math.max(2, plotW / 90));
    ctx.textAlign = "center";
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = xOf(t);
      ctx.beginPath(); ctx.moveTo(x, TOP - 6); ctx.lineTo(x, height - BOTTOM); ctx.stroke();
      ctx.fillText(fmt(t), x, TOP - 20);
    }
    ctx.textAlign = "left"; ctx.fillText(unit, 4, TOP - 20);
    ctx.save(); ctx.beginPath(); ctx.rect(LEFT, 0, plotW, height); ctx.clip();
    // partitions: bands across every lane
    for (const [a, b, groups] of D.partitions) {
      if (b < t0 || a > t1) continue;
      ctx.fillStyle = "rgba(255, 165, 0, 0.13)";
      ctx.fillRect(xOf(a), TOP - 8, Math.max(1, xOf(b) - xOf(a)), height - TOP);
      ctx.fillStyle = "#b36b00"; ctx.fillText("partition " + T[groups], Math.max(LEFT, xOf(a)) + 2, TOP - 8);
    }
    // crash windows: on the node's lane
    for (const [node, a, b] of D.down) {
      if (b < t0 || a > t1 || isNaN(y[node])) continue;
      ctx.fillStyle = "rgba(214, 39, 40, 0.16)";
      ctx.fillRect(xOf(a), y[node] - h * 0.4, Math.max(1, xOf(b) - xOf(a)), h * 0.8);
      ctx.fillStyle = "#b00"; ctx.fillText("down", Math.max(LEFT, xOf(a)) + 2, y[node] - h * 0.4 + 10);
    }
    ctx.restore();
    // lanes
    ctx.font = "12px sans-serif"; ctx.textAlign = "right";
    D.nodes.forEach((name, i) => {
      if (isNaN(y[i])) return;
      ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(LEFT, y[i]); ctx.lineTo(width - RIGHT, y[i]); ctx.stroke();
      ctx.fillStyle = "#222"; ctx.fillText(name, LEFT - 6, y[i] + 4);
    });
    ctx.save(); ctx.beginPath(); ctx.rect(LEFT, 0, plotW, height); ctx.clip();
    // messages sent in [t0 - maxFlight, t1]
    nSegs = 0;
    const first = lowerBound(M.ts, t0 - maxFlight), last = lowerBound(M.ts, t1 + 1e-9);
    const dense = last - first > 5000;
    ctx.lineWidth = dense ? 0.7 : 1.3;
    for (let i = first; i < last; i++) {
      if (!messageVisible(i)) continue;
      const end = M.te[i] === null ? D.end : M.te[i];
      if (end < t0) continue;
      const ys = y[M.src[i]], yd = y[M.dst[i]], x1 = xOf(M.ts[i]);
      let x2 = xOf(end), y2 = yd;
      const dropped = M.fate[i] === 1, lostOnTheWay = dropped && T[M.why[i]] !== "crashed";
      if (lostOnTheWay) { x2 = x1 + Math.max(14, x2 - x1); y2 = ys + (yd - ys) * 0.35; }
      ctx.globalAlpha = M.ts[i] > now ? 0.22 : 1;
      ctx.strokeStyle = ctx.fillStyle = D.colors[M.type[i]];
      ctx.setLineDash(M.of[i] >= 0 ? [5, 3] : M.fate[i] === 2 ? [2, 3] : []);
      ctx.beginPath(); ctx.moveTo(x1, ys); ctx.lineTo(x2, y2); ctx.stroke();
      if (dropped) {
        ctx.setLineDash([]); ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x2 - 4, y2 - 4); ctx.lineTo(x2 + 4, y2 + 4);
        ctx.moveTo(x2 - 4, y2 + 4); ctx.lineTo(x2 + 4, y2 - 4); ctx.stroke();
        ctx.lineWidth = dense ? 0.7 : 1.3;
      } else if (!dense && M.fate[i] === 0) arrowHead(x1, ys, x2, y2);
      pushSeg(x1, ys, x2, y2, i);
    }
    ctx.setLineDash([]); ctx.globalAlpha = 1;
    // arrow labels, when few enough arrows are on screen to read them
    if (nSegs <= 80) {
      ctx.font = "11px sans-serif"; ctx.textAlign = "center";
      const laneYs = Array.from(y).filter(v => !isNaN(v)), placed = [];
      for (let s = 0; s < nSegs; s++) {
        const m = segMsg[s], x1 = segs[4 * s], y1 = segs[4 * s + 1], x2 = segs[4 * s + 2], y2 = segs[4 * s + 3];
        // halfway along the arrow, unless that is on a lane it crosses: then nearer an end
        const u = [0.5, 0.3, 0.7].find(f => laneYs.every(l => Math.abs(y1 + f * (y2 - y1) - 4 - l) > 12)) ?? 0.5;
        const x = x1 + u * (x2 - x1), yy = y1 + u * (y2 - y1);
        const text = T[M.label[m]], w = ctx.measureText(text).width;
        const box = [x - w / 2 - 2, yy - 11, x + w / 2 + 2, yy + 3];
        if (placed.some(b => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        placed.push(box);  // a label that would cover another is left to the tooltip
        ctx.globalAlpha = M.ts[m] > now ? 0.35 : 0.9;
        ctx.fillStyle = "#fff"; ctx.fillRect(x - w / 2 - 2, yy - 11, w + 4, 14);
        ctx.fillStyle = D.colors[M.type[m]]; ctx.fillText(text, x, yy);
      }
      ctx.globalAlpha = 1;
    }
    // the current and the selected message, on top
    for (const [m, color, widthPx] of [[selected, "#000", 3], [nEv && E.m[cur] >= 0 ? E.m[cur] : -1, "#1f77b4", 3.5]]) {
      if (m < 0 || !messageVisible(m)) continue;
      const end = M.te[m] === null ? D.end : M.te[m];
      const ys = y[M.src[m]], yd = y[M.dst[m]], x1 = xOf(M.ts[m]);
      let x2 = xOf(end), y2 = yd;
      if (M.fate[m] === 1 && T[M.why[m]] !== "crashed") { x2 = x1 + Math.max(14, x2 - x1); y2 = ys + (yd - ys) * 0.35; }
      ctx.strokeStyle = color; ctx.lineWidth = widthPx; ctx.globalAlpha = 0.55;
      ctx.beginPath(); ctx.moveTo(x1, ys); ctx.lineTo(x2, y2); ctx.stroke(); ctx.globalAlpha = 1;
    }
    // protocol events and faults as ticks on their lane (skipped when too dense to read)
    const e0 = lowerBound(E.t, t0), e1 = lowerBound(E.t, t1 + 1e-9);
    if (e1 - e0 < 20000) {
      for (let i = e0; i < e1; i++) {
        const node = E.n[i];
        if (E.m[i] >= 0 || node < 0 || isNaN(y[node])) continue;
        const kind = D.kinds[E.k[i]];
        const fault = faultKinds.has(E.k[i]);
        if (!fault && kind.indexOf(".") < 0) continue;
        ctx.fillStyle = fault ? "#d62728" : "#333";
        ctx.globalAlpha = E.t[i] > now ? 0.3 : 1;
        ctx.fillRect(xOf(E.t[i]) - 1.5, y[node] - 5, 3, 10);
      }
      ctx.globalAlpha = 1;
    }
    // violations: a red line at their time, a triangle on the culprit's lane
    violMarks = [];
    ctx.font = "bold 11px sans-serif"; ctx.textAlign = "left";
    const stacked = new Map();  // violations at one place: their names one under another
    D.violations.forEach((v, k) => {
      if (v.time < t0 || v.time > t1) return;
      const x = xOf(v.time), node = v.event >= 0 ? E.n[v.event] : -1;
      const key = `${Math.round(x)}:${node}`, below = stacked.get(key) || 0;
      stacked.set(key, below + 1);
      ctx.strokeStyle = "#d62728"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x, TOP - 8); ctx.lineTo(x, height - BOTTOM); ctx.stroke(); ctx.setLineDash([]);
      const yy = node >= 0 && !isNaN(y[node]) ? y[node] : TOP + 4;
      ctx.fillStyle = "#d62728";
      ctx.beginPath(); ctx.moveTo(x, yy - 2); ctx.lineTo(x - 7, yy - 14); ctx.lineTo(x + 7, yy - 14); ctx.closePath(); ctx.fill();
      ctx.fillText(v.invariant, x + 8, yy - 8 + 12 * below);
      violMarks.push([x, yy - 8 + 12 * below, k]);
    });
    // the slider's time
    if (nEv) {
      ctx.strokeStyle = "#1f77b4"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(xOf(now), TOP - 8); ctx.lineTo(xOf(now), height - BOTTOM); ctx.stroke();
    }
    ctx.restore();
  }

  // -- the slider and the panels --------------------------------------------
  function stateAt(name, index) {
    const changes = D.states.changes[name];
    if (!changes) return null;
    let lo = 0, hi = changes.length;  // last change at a position <= index
    while (lo < hi) { const mid = (lo + hi) >> 1; if (changes[mid][0] <= index) lo = mid + 1; else hi = mid; }
    return lo ? changes[lo - 1] : null;
  }
  function renderNodes() {
    const box = document.getElementById("nodes");
    box.textContent = "";
    if (D.states.problem) {
      const p = document.createElement("div"); p.className = "note"; p.textContent = D.states.problem;
      box.appendChild(p); return;
    }
    D.nodes.forEach((name, i) => {
      const change = stateAt(name, cur);
      if (!change || !shownNode[i]) return;
      const div = document.createElement("div");
      const state = JSON.parse(D.states.text[change[1]]);
      div.className = "node" + (change[0] === cur ? " changed" : "") + (state === "down" ? " down" : "");
      div.dataset.node = name;
      const b = document.createElement("b"); b.textContent = name; div.appendChild(b);
      const kv = document.createElement("div"); kv.className = "kv";
      if (state === "down") kv.textContent = "down (crashed)";
      else kv.textContent = Object.keys(state).map(k => `${k}: ${JSON.stringify(state[k])}`).join("\n") || "(nothing shown)";
      kv.style.whiteSpace = "pre-wrap";
      div.appendChild(kv); box.appendChild(div);
    });
  }
  function setIndex(i, center) {
    if (!nEv) return;
    cur = Math.max(0, Math.min(nEv - 1, i));
    slider.value = String(cur);
    document.getElementById("current").textContent = eventText(cur);
    const t = E.t[cur];
    if (center || t < t0 || t > t1) {
      // centre on the event, but keep the window inside the run while it fits there
      const span = t1 - t0, end = D.end > 0 ? D.end : 1, lo = -end * 0.01, hi = end * 1.03;
      t0 = span >= hi - lo ? lo : Math.max(lo, Math.min(hi - span, t - span / 2));
      t1 = t0 + span;
    }
    renderNodes();
    schedule();
  }
  function isMessageEvent(i) {
    const k = E.k[i];
    return (k === K.send || k === K.deliver) && messageVisible(E.m[i]);
  }
  function isFault(i) { return faultKinds.has(E.k[i]); }
  function step(direction, test) {
    for (let i = cur + direction; i >= 0 && i < nEv; i += direction) if (test(i)) { setIndex(i); return true; }
    return false;
  }

  // -- interaction -----------------------------------------------------------
  function nearest(mx, my) {
    let best = -1, bestD = 36;
    for (let s = 0; s < nSegs; s++) {
      const x1 = segs[4 * s], y1 = segs[4 * s + 1], x2 = segs[4 * s + 2], y2 = segs[4 * s + 3];
      const dx = x2 - x1, dy = y2 - y1, len = dx * dx + dy * dy;
      const u = len ? Math.max(0, Math.min(1, ((mx - x1) * dx + (my - y1) * dy) / len)) : 0;
      const ex = x1 + u * dx - mx, ey = y1 + u * dy - my, d = ex * ex + ey * ey;
      if (d < bestD) { bestD = d; best = segMsg[s]; }
    }
    return best;
  }
  function showTip(text, cx, cy) {
    tooltip.textContent = text; tooltip.style.display = "block";
    const w = tooltip.offsetWidth, hh = tooltip.offsetHeight;
    tooltip.style.left = Math.min(cx + 14, window.innerWidth - w - 4) + "px";
    tooltip.style.top = Math.min(cy + 14, window.innerHeight - hh - 4) + "px";
  }
  function hoverAt(cx, cy) {
    const r = canvas.getBoundingClientRect(), mx = cx - r.left, my = cy - r.top;
    for (const [x, yy, k] of violMarks) {
      if (Math.abs(mx - x) < 9 && Math.abs(my - yy) < 9) {
        const v = D.violations[k];
        showTip(`VIOLATION: ${v.invariant} at t=${fmt(v.time)} ${unit}\n${v.detail}\n(culprit: event #${v.event})`, cx, cy);
        return;
      }
    }
    hovered = nearest(mx, my);
    if (hovered >= 0) showTip(messageText(hovered), cx, cy); else tooltip.style.display = "none";
  }
  let drag = null;
  canvas.addEventListener("mousedown", e => { drag = {x: e.clientX, t0, t1, moved: false}; });
  window.addEventListener("mouseup", e => {
    if (drag && !drag.moved) {
      const r = canvas.getBoundingClientRect();
      select(nearest(e.clientX - r.left, e.clientY - r.top));
    }
    drag = null;
  });
  window.addEventListener("mousemove", e => {
    if (drag) {
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      const dt = dx / (width - LEFT - RIGHT) * (drag.t1 - drag.t0);
      t0 = drag.t0 - dt; t1 = drag.t1 - dt; schedule(); return;
    }
    if (e.target === canvas) hoverAt(e.clientX, e.clientY); else tooltip.style.display = "none";
  });
  canvas.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
  function zoom(factor, atX) {
    const t = tOf(atX === undefined ? LEFT + (width - LEFT - RIGHT) / 2 : atX);
    t0 = t - (t - t0) * factor; t1 = t + (t1 - t) * factor;
    if (t1 - t0 < 1e-6) { const c = (t0 + t1) / 2; t0 = c - 5e-7; t1 = c + 5e-7; }
    schedule();
  }
  canvas.addEventListener("wheel", e => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoom(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - r.left);
  }, {passive: false});
  function select(m) {
    selected = m;
    const box = document.getElementById("details");
    box.textContent = m >= 0 ? messageText(m) : "Click a message to see it here.";
    document.getElementById("goto-send").disabled = m < 0;
    document.getElementById("goto-end").disabled = m < 0 || M.ee[m] < 0;
    schedule();
  }
  const on = (id, f) => document.getElementById(id).addEventListener("click", f);
  on("prev-event", () => setIndex(cur - 1));
  on("next-event", () => setIndex(cur + 1));
  on("prev-message", () => step(-1, isMessageEvent));
  on("next-message", () => step(1, isMessageEvent));
  on("prev-fault", () => step(-1, isFault));
  on("next-fault", () => step(1, isFault));
  on("zoom-in", () => zoom(0.5));
  on("zoom-out", () => zoom(2));
  on("zoom-fit", () => { fit(); schedule(); });
  on("goto-send", () => { if (selected >= 0) setIndex(M.es[selected], true); });
  on("goto-end", () => { if (selected >= 0 && M.ee[selected] >= 0) setIndex(M.ee[selected], true); });
  slider.addEventListener("input", () => setIndex(Number(slider.value)));
  window.addEventListener("keydown", e => {
    if (e.target.tagName === "INPUT" && e.target.type !== "range") return;
    const moves = {ArrowRight: () => setIndex(cur + 1), ArrowLeft: () => setIndex(cur - 1),
                   n: () => step(1, isMessageEvent), N: () => step(-1, isMessageEvent),
                   f: () => step(1, isFault), F: () => step(-1, isFault)};
    if (moves[e.key]) { e.preventDefault(); moves[e.key](); }
  });

  function checkbox(parent, label, color, onChange) {
    const l = document.createElement("label"), c = document.createElement("input");
    c.type = "checkbox"; c.checked = true; c.addEventListener("change", () => onChange(c.checked));
    l.appendChild(c);
    if (color) { const s = document.createElement("span"); s.className = "swatch"; s.style.background = color; l.appendChild(s); }
    l.appendChild(document.createTextNode(label)); parent.appendChild(l);
    return c;
  }
  function buildFilters() {
    const nodes = document.getElementById("node-filters"), types = document.getElementById("type-filters");
    D.nodes.forEach((name, i) => checkbox(nodes, name, null, v => { shownNode[i] = v; renderNodes(); schedule(); }));
    D.types.forEach((name, i) => checkbox(types, name, D.colors[i], v => { shownType[i] = v; schedule(); }));
  }
  function buildViolations() {
    const box = document.getElementById("violations");
    if (!D.violations.length) { box.innerHTML = '<div class="note">none: every check held</div>'; return; }
    D.violations.forEach(v => {
      const div = document.createElement("div"); div.className = "viol";
      div.textContent = `${v.invariant} at t=${fmt(v.time)} ${unit}: ${v.detail} `;
      if (v.why) {  // explained: the rule an honest node broke, and its culprit event
        const why = document.createElement("div"); why.className = "why";
        why.textContent = `why (${v.rule}): ${v.why}`;
        div.appendChild(why);
      }
      const b = document.createElement("button");
      b.textContent = (v.why ? "jump to the culprit, event #" : "jump to event #") + v.event;
      b.addEventListener("click", () => setIndex(v.event, true));
      div.appendChild(b); box.appendChild(div);
    });
  }

  // A small API for tests and the console.
  window.paxosview = {
    data: D,
    index: () => cur,
    setIndex: i => setIndex(i, true),
    eventText,
    findMessage: (type, src, dst) => {
      for (let i = 0; i < nMsg; i++) {
        if (D.types[M.type[i]] === type && (!src || D.nodes[M.src[i]] === src) && (!dst || D.nodes[M.dst[i]] === dst)) return i;
      }
      return -1;
    },
    // The page coordinates of the middle of message m's arrow, as last drawn.
    messagePoint: m => {
      const r = canvas.getBoundingClientRect();
      for (let s = 0; s < nSegs; s++) {
        if (segMsg[s] === m) return {x: r.left + (segs[4 * s] + segs[4 * s + 2]) / 2, y: r.top + (segs[4 * s + 1] + segs[4 * s + 3]) / 2};
      }
      return null;
    },
    setWindow: (from, to) => { t0 = from; t1 = to; schedule(); },
    redraw: () => draw(),
  };

  slider.max = String(Math.max(0, nEv - 1));
  document.getElementById("count").textContent =
    `${nEv} events, ${nMsg} messages, ${D.violations.length} violation(s)`;
  buildFilters(); buildViolations(); fit();
  window.addEventListener("resize", resize);
  resize(); setIndex(0); select(-1);
  draw();
  document.body.dataset.ready = "1";
})();
