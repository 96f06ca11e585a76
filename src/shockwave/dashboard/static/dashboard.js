// The shockwave dashboard: polls dashboard/api/snapshot (or one job's page) and draws the
// cluster grid, the queue, the timeline and a job's history. No framework, no build step.
"use strict";

(() => {
  const STATE_ORDER = { RUNNING: 0, QUEUED: 1, FAILED: 2, CANCELLED: 3, COMPLETED: 4 };
  const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
  const UNFAIR_RHO = 1.1; // metrics.UNFAIR_RHO: the paper's threshold of an unfair finish
  const TOKEN_KEY = "shockwave-token";
  const PAGE_ROWS = 200; // rows of the queue drawn at once: a 1,000-row table costs ~0.2 s of layout

  const view = {
    snap: null, snapText: "", job: null, jobText: "", jobId: null, cursor: null,
    timer: null, playing: null, unlocked: false, token: sessionStorage.getItem(TOKEN_KEY) || "",
    loading: false, again: false, firstRow: 0,
  };
  // Timing marks for tests and the benchmark (benchmarks/bench_dashboard.py).
  const probe = { renders: [], firstRenderMs: null, firstPaintMs: null, errors: [] };
  window.shockwaveDashboard = probe;

  const $ = (id) => document.getElementById(id);
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ESC[c]);

  const colour = (palette, jobId) => palette[(7 * jobId) % palette.length];

  function duration(seconds) {
    if (seconds == null || !isFinite(seconds)) return "";
    const s = Math.max(0, seconds);
    if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
    if (s < 5400) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(2)} h`;
  }

  function headers() {
    return view.token ? { Authorization: `Bearer ${view.token}` } : {};
  }

  async function getText(url, extra = {}) {
    const response = await fetch(url, { cache: "no-store", headers: extra });
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try { detail = JSON.parse(text).detail; } catch (_) { /* not JSON */ }
      throw new Error(`${url}: ${response.status} ${typeof detail === "string" ? detail : ""}`);
    }
    return text;
  }

  function showError(message) {
    probe.errors.push(message);
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() { $("error").hidden = true; }

  // ---------------------------------------------------------------------------------------
  // Polling and routing
  function atQuery() { return view.cursor == null ? "" : `?at_s=${view.cursor}`; }

  async function refresh() {
    clearTimeout(view.timer);
    if (view.loading) { view.again = true; return; }
    view.loading = true;
    try {
      const snapText = await getText(`dashboard/api/snapshot${atQuery()}`);
      if (snapText !== view.snapText) {
        view.snapText = snapText;
        const first = view.snap == null;
        view.snap = JSON.parse(snapText);
        if (first && view.snap.source === "simulation") $("state-filter").value = "all";
        if (view.jobId == null) renderOverview();
        renderHeader();
      }
      if (view.jobId != null) await refreshJob();
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
      clearError();
    } catch (error) {
      showError(`could not update: ${error.message}`);
    } finally {
      view.loading = false;
      const every = view.snap && view.snap.refresh_s;
      if (view.again) {
        view.again = false;
        view.timer = setTimeout(refresh, 0);
      } else if (every) {
        view.timer = setTimeout(refresh, every * 1000);
      }
    }
  }

  async function refreshJob() {
    const jobId = view.jobId;
    const text = await getText(`dashboard/api/jobs/${jobId}${atQuery()}`);
    if (text !== view.jobText || jobId !== (view.job && view.job.job.id)) {
      view.jobText = text;
      view.job = JSON.parse(text);
      renderJob();
    }
    if (view.snap.source === "service" && canRead()) {
      try {
        $("job-log").textContent =
          (await getText(`v1/jobs/${jobId}/logs?tail=40`, headers())) || "(no output yet)";
      } catch (error) {
        $("job-log").textContent = `(could not read the log: ${error.message})`;
      }
    }
  }

  function route() {
    const match = location.hash.match(/^#\/jobs\/(\d+)$/);
    view.jobId = match ? Number(match[1]) : null;
    view.jobText = "";
    $("overview").hidden = view.jobId != null;
    $("job-view").hidden = view.jobId == null;
    if (view.jobId == null && view.snap) renderOverview();
    refresh();
  }

  // ---------------------------------------------------------------------------------------
  // Header: where, when, counts; simulation time cursor; token
  function renderHeader() {
    const snap = view.snap;
    document.title = `${snap.title} · shockwave`;
    $("title").textContent = snap.title;
    const parts = [];
    if (snap.source === "service") {
      parts.push(`${snap.gpus.length} slots`, `now ${duration(snap.now_s)} on the service clock`);
    } else {
      parts.push(`${snap.gpus.length} GPUs`, `t = ${duration(snap.now_s)} of ${duration(snap.end_s)}`);
    }
    $("where").textContent = parts.join(" · ");
    $("counts").innerHTML = Object.entries(snap.counts)
      .map(([state, n]) => `<span class="count" data-state="${esc(state)}">${esc(state.toLowerCase())} <b>${n}</b></span>`)
      .join("");
    const round = snap.round_index == null ? "no round yet"
      : `round ${snap.round_index}` + (snap.round_ends_in_s == null ? ""
        : ` · ${snap.source === "service" ? "next round in" : "ends in"} ${duration(snap.round_ends_in_s)}`);
    $("round").textContent = `${round} · rounds of ${duration(snap.round_s)} · ${snap.policy}`;
    if (snap.source === "simulation") {
      $("sim-controls").hidden = false;
      const cursor = $("cursor");
      cursor.max = String(snap.end_s);
      if (document.activeElement !== cursor) cursor.value = String(snap.now_s);
      $("cursor-label").textContent = `t = ${duration(snap.now_s)}`;
    } else {
      $("auth").hidden = false;
      $("token").hidden = !snap.token_required;
      $("auth-state").textContent = view.unlocked ? "actions enabled" : "read-only";
      $("unlock").hidden = view.unlocked;
    }
  }

  function canRead() { return !view.snap.token_required || view.unlocked; }

  async function unlock() {
    if (view.snap.token_required) {
      view.token = $("token").value.trim();
      try {
        await getText("v1/cluster", headers());
      } catch (error) {
        showError(`the token was refused: ${error.message}`);
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, view.token);
    }
    view.unlocked = true;
    view.snapText = "";
    view.jobText = "";
    refresh();
  }

  async function cancel(jobId) {
    if (!view.unlocked) return;
    if (!window.confirm(`Cancel job ${jobId}?`)) return;
    try {
      const response = await fetch(`v1/jobs/${jobId}`, { method: "DELETE", headers: headers() });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(`${response.status} ${body.detail || ""}`);
      }
    } catch (error) {
      showError(`could not cancel job ${jobId}: ${error.message}`);
    }
    refresh();
  }

  // ---------------------------------------------------------------------------------------
  // Overview: grid, queue, timeline
  function renderOverview() {
    const started = performance.now();
    const snap = view.snap;
    const width = $("timeline").parentElement.clientWidth; // read layout before writing it
    renderGrid(snap);
    renderQueue(snap);
    renderTimeline(snap, width);
    const ms = performance.now() - started;
    if (probe.firstRenderMs == null) probe.firstRenderMs = performance.now();
    const entry = { at: performance.now(), ms, paintedMs: null, jobs: snap.jobs.length, now_s: snap.now_s };
    probe.renders.push(entry);
    // When the browser has laid out and painted it: the next frame, then the next task.
    requestAnimationFrame(() => setTimeout(() => {
      entry.paintedMs = performance.now() - started;
      if (probe.firstPaintMs == null) probe.firstPaintMs = performance.now();
    }, 0));
  }

  function renderGrid(snap) {
    const names = new Map(snap.jobs.map((job) => [job.id, job.name]));
    const servers = new Map();
    const typeOf = new Map();
    for (const cell of snap.gpus) {
      if (!servers.has(cell.server)) servers.set(cell.server, []);
      typeOf.set(cell.server, cell.gpu_type);
      let html;
      if (!cell.available) {
        html = `<span class="gpu gone" data-slot="${cell.slot}" title="slot ${cell.slot} (${esc(cell.device)}): unavailable"></span>`;
      } else if (cell.job_id == null) {
        html = `<span class="gpu idle" data-slot="${cell.slot}" title="slot ${cell.slot} (${esc(cell.device)}): idle"></span>`;
      } else {
        const name = names.get(cell.job_id) || "";
        html = `<a class="gpu" data-slot="${cell.slot}" data-job="${cell.job_id}" href="#/jobs/${cell.job_id}" ` +
          `style="background:${colour(snap.palette, cell.job_id)}" ` +
          `title="slot ${cell.slot} (${esc(cell.device)}): job ${cell.job_id} ${esc(name)}">${cell.job_id}</a>`;
      }
      servers.get(cell.server).push(html);
    }
    const types = new Set(snap.gpus.map((cell) => cell.gpu_type));
    $("grid").innerHTML = [...servers.entries()]
      .map(([server, cells]) => {
        const label = types.size > 1 ? `<span class="server-type">${esc(typeOf.get(server))}</span>` : "";
        return `<div class="server" title="server ${server}${typeOf.get(server) ? ` (${esc(typeOf.get(server))})` : ""}">${label}${cells.join("")}</div>`;
      })
      .join("");
  }

  function shownJobs(snap) {
    const wanted = $("state-filter").value;
    const needle = $("name-filter").value.trim().toLowerCase();
    return snap.jobs
      .filter((job) => wanted === "all" || (wanted === "active" ? !TERMINAL.has(job.state) : job.state === wanted))
      .filter((job) => !needle || job.name.toLowerCase().includes(needle) || String(job.id) === needle)
      .sort((a, b) => (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || (a.id - b.id));
  }

  function rhoCell(rho) {
    if (rho == null) return `<td class="num muted">–</td>`;
    return `<td class="num${rho > UNFAIR_RHO ? " unfair" : ""}">${rho.toFixed(3)}</td>`;
  }

  function renderQueue(snap) {
    const jobs = shownJobs(snap);
    const actions = snap.source === "service" && view.unlocked;
    view.firstRow = Math.max(0, Math.min(view.firstRow, Math.floor(Math.max(0, jobs.length - 1) / PAGE_ROWS) * PAGE_ROWS));
    const page = jobs.slice(view.firstRow, view.firstRow + PAGE_ROWS);
    const rows = page.map((job) => {
      const pct = (100 * job.progress).toFixed(1);
      const button = actions && !TERMINAL.has(job.state)
        ? `<button class="cancel" type="button" data-cancel="${job.id}">cancel</button>` : "";
      return `<tr data-job="${job.id}" data-state="${job.state}">` +
        `<td><span class="swatch" style="background:${colour(snap.palette, job.id)}"></span>` +
        `<a href="#/jobs/${job.id}">${job.id}</a> ${esc(job.name)}</td>` +
        `<td><span class="state ${job.state}">${job.state.toLowerCase()}</span></td>` +
        `<td class="num">${job.gpus}</td>` +
        `<td><span class="bar"><span style="width:${pct}%"></span></span>${pct}%</td>` +
        `<td class="num">${job.batch_size}</td><td class="num">${job.attempts}</td>` +
        rhoCell(job.estimated_rho) +
        `<td class="reason">${esc(job.wait_reason || "")}</td><td>${button}</td></tr>`;
    });
    $("queue").tBodies[0].innerHTML = rows.join("");
    $("queue-count").textContent = `${jobs.length} of ${snap.jobs.length} jobs shown`;
    const paged = jobs.length > PAGE_ROWS;
    $("pager").hidden = !paged;
    if (paged) {
      $("pager-label").textContent =
        `rows ${view.firstRow + 1}–${view.firstRow + page.length} of ${jobs.length}`;
      $("pager-prev").disabled = view.firstRow === 0;
      $("pager-next").disabled = view.firstRow + PAGE_ROWS >= jobs.length;
    }
  }

  function turnPage(delta) {
    view.firstRow = Math.max(0, view.firstRow + delta * PAGE_ROWS);
    if (view.snap) renderQueue(view.snap);
  }

  function niceStep(span, ticks) {
    const raw = span / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) || raw;
  }

  function renderTimeline(snap, boxWidth) {
    const canvas = $("timeline");
    const width = Math.max(300, boxWidth - 8);
    const gpus = snap.gpus.length;
    const row = Math.max(1, Math.min(14, Math.floor(420 / Math.max(1, gpus))));
    const top = 6, left = 44, bottom = 22;
    const height = top + row * gpus + bottom;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const t0 = snap.start_s, t1 = Math.max(snap.end_s, t0 + 1e-9);
    const hours = t1 - t0 > 5400;
    const unit = hours ? 3600 : 1;
    const x = (t) => left + (width - left - 8) * (t - t0) / (t1 - t0);
    const y = (slot) => top + slot * row;
    ctx.fillStyle = "#f7f7f7";
    ctx.fillRect(left, top, width - left - 8, row * gpus);
    const tl = snap.timeline;
    for (let i = 0; i < tl.job.length; i++) {
      ctx.fillStyle = colour(snap.palette, tl.job[i]);
      const x0 = x(tl.start_s[i]), w = Math.max(1, x(tl.end_s[i]) - x0);
      const slots = tl.slots[i];
      let lo = slots[0], hi = slots[0];
      for (let k = 1; k <= slots.length; k++) {
        if (k < slots.length && slots[k] === hi + 1) { hi = slots[k]; continue; }
        ctx.fillRect(x0, y(lo) + (row > 3 ? 0.5 : 0), w, (hi - lo + 1) * row - (row > 3 ? 1 : 0));
        if (k < slots.length) { lo = slots[k]; hi = slots[k]; }
      }
    }
    ctx.strokeStyle = "#888";
    ctx.fillStyle = "#444";
    ctx.font = "11px system-ui, sans-serif";
    ctx.beginPath();
    ctx.moveTo(left, top + row * gpus + 0.5);
    ctx.lineTo(width - 8, top + row * gpus + 0.5);
    ctx.stroke();
    const step = niceStep((t1 - t0) / unit, 8) * unit;
    ctx.textAlign = "center";
    for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      ctx.fillRect(x(t), top + row * gpus, 1, 4);
      ctx.fillText(hours ? `${(t / 3600).toFixed(step < 3600 ? 1 : 0)} h` : `${t.toFixed(0)} s`, x(t), height - 6);
    }
    const gpuTypes = snap.gpus.map((cell) => cell.gpu_type);
    if (new Set(gpuTypes).size > 1) {
      ctx.strokeStyle = "#333";
      ctx.textAlign = "left";
      for (let slot = 0; slot < gpus; slot++) {
        if (slot === 0 || gpuTypes[slot] !== gpuTypes[slot - 1]) {
          if (slot > 0) {
            ctx.beginPath();
            ctx.moveTo(left, y(slot) + 0.5);
            ctx.lineTo(width - 8, y(slot) + 0.5);
            ctx.stroke();
          }
          ctx.fillText(gpuTypes[slot], left + 3, y(slot) + 11);
        }
      }
    }
    ctx.textAlign = "right";
    const labelEvery = Math.max(1, Math.ceil(12 / row));
    for (let slot = 0; slot < gpus; slot += labelEvery) {
      ctx.fillText(`${slot}`, left - 4, y(slot) + Math.min(row, 11));
    }
  }

  // ---------------------------------------------------------------------------------------
  // One job
  function renderJob() {
    const page = view.job;
    const job = page.job;
    $("job-title").innerHTML = `<span class="swatch" style="background:${page.palette_colour}"></span>` +
      `Job ${job.id} · ${esc(job.name)} <span class="state ${job.state}">${job.state.toLowerCase()}</span>`;
    const facts = [
      ["Progress", `${(100 * job.progress).toFixed(1)} %`],
      ["Batch size", job.batch_size],
      ["GPUs", job.gpus],
      ["Attempts", job.attempts],
      ["Est. ρ", job.estimated_rho == null ? "–" : job.estimated_rho.toFixed(3)],
      ["Submitted", duration(job.submitted_s)],
      ["Finished", job.finished_s == null ? "–" : duration(job.finished_s)],
      ["Waiting because", job.wait_reason || "–"],
    ];
    $("job-summary").innerHTML = facts.map(([k, v]) => `<div><b>${k}</b>${esc(v)}</div>`).join("");
    $("job-cancel").hidden = !(page.source === "service" && view.unlocked && !TERMINAL.has(job.state));
    $("job-leases").tBodies[0].innerHTML = page.leases.map((lease) =>
      `<tr><td class="num">${lease.number}</td><td>${esc(lease.slots.join(", "))}</td>` +
      `<td class="num">${duration(lease.start_s)}</td><td class="num">${lease.end_s == null ? "running" : duration(lease.end_s)}</td>` +
      `<td>${esc(lease.outcome || "")}</td><td class="num">${lease.samples_per_s == null ? "–" : lease.samples_per_s.toFixed(1)}</td>` +
      `<td>${esc(lease.reason || "")}</td></tr>`).join("");
    const end = job.finished_s != null ? job.finished_s : view.snap.now_s;
    lineChart($("job-batch"), page.batch_sizes, { step: true, end, colour: page.palette_colour,
      empty: "no batch sizes recorded" });
    lineChart($("job-throughput"), page.throughput, { step: false, end, colour: page.palette_colour,
      empty: page.source === "simulation" ? "a simulation does not record per-round throughput"
        : "not measured yet" });
    $("job-events").innerHTML = page.events.map(([at, text]) =>
      `<li><span class="muted">${duration(at)}</span> ${esc(text)}</li>`).join("");
    if (page.source === "simulation") $("job-log").textContent = "(a simulated job has no log)";
    else if (!canRead()) $("job-log").textContent = "(enable actions with the service token to read the log)";
  }

  function lineChart(svg, points, { step, end, colour: stroke, empty }) {
    const width = svg.clientWidth || 480, height = 190, left = 52, right = 10, top = 10, bottom = 24;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    if (!points.length) {
      svg.innerHTML = `<text x="${width / 2}" y="${height / 2}" text-anchor="middle">${esc(empty)}</text>`;
      return;
    }
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(end, ...xs, x0 + 1e-9);
    const yMax = Math.max(...ys) * 1.1 || 1;
    const px = (t) => left + (width - left - right) * (t - x0) / (x1 - x0);
    const py = (v) => top + (height - top - bottom) * (1 - v / yMax);
    let path = `M${px(xs[0])},${py(ys[0])}`;
    for (let i = 1; i < points.length; i++) {
      if (step) path += `H${px(xs[i])}`;
      path += `L${px(xs[i])},${py(ys[i])}`;
    }
    if (step) path += `H${px(x1)}`;
    const ticks = [0, yMax / 2, yMax].map((v) =>
      `<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toPrecision(3)}</text>`);
    svg.innerHTML = `<line x1="${left}" y1="${py(0)}" x2="${width - right}" y2="${py(0)}" stroke="#999"/>` +
      `<path d="${path}" fill="none" stroke="${stroke}" stroke-width="2"/>` +
      points.map((p) => `<circle cx="${px(p[0])}" cy="${py(p[1])}" r="2.5" fill="${stroke}"/>`).join("") +
      ticks.join("") +
      `<text x="${left}" y="${height - 6}">${duration(x0)}</text>` +
      `<text x="${width - right}" y="${height - 6}" text-anchor="end">${duration(x1)}</text>`;
  }

  // ---------------------------------------------------------------------------------------
  // Simulation time: scrub and play
  function setCursor(value) {
    view.cursor = Number(value);
    view.snapText = "";
    refresh();
  }

  function play() {
    if (view.playing) {
      clearInterval(view.playing);
      view.playing = null;
      $("play").textContent = "▶";
      return;
    }
    const end = view.snap.end_s;
    if (view.cursor == null || view.cursor >= end) view.cursor = 0;
    $("play").textContent = "❚❚";
    view.playing = setInterval(() => {
      if (view.loading) return;
      const next = Math.min(end, (view.cursor || 0) + end / 240);
      setCursor(next);
      if (next >= end) play();
    }, 120);
  }

  document.addEventListener("DOMContentLoaded", () => {
    window.addEventListener("hashchange", route);
    const refilter = () => { view.firstRow = 0; if (view.snap) renderQueue(view.snap); };
    $("state-filter").addEventListener("change", refilter);
    $("name-filter").addEventListener("input", refilter);
    $("pager-prev").addEventListener("click", () => turnPage(-1));
    $("pager-next").addEventListener("click", () => turnPage(1));
    $("auth").addEventListener("submit", (event) => { event.preventDefault(); unlock(); });
    $("token").value = view.token;
    $("job-cancel").addEventListener("click", () => cancel(view.jobId));
    $("queue").addEventListener("click", (event) => {
      const target = event.target.closest("[data-cancel]");
      if (target) cancel(Number(target.dataset.cancel));
    });
    $("cursor").addEventListener("input", (event) => setCursor(event.target.value));
    $("play").addEventListener("click", play);
    window.addEventListener("resize", () => view.snap && view.jobId == null &&
      renderTimeline(view.snap, $("timeline").parentElement.clientWidth));
    route();
  });
})();
