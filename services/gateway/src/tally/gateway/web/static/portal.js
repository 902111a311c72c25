// The portal's live part: usage per meter as a chart and totals, and cost to date, refreshed by polling.
(function () {
  "use strict";
  const refreshMs = Number(document.currentScript.dataset.refreshMs) || 1000;
  const meterSelect = document.getElementById("meter");
  const windowSelect = document.getElementById("window");
  let data = JSON.parse(document.getElementById("initial").textContent);
  let chart = null;

  function money(m) {
    if (!m || m.amount === "") return "–";
    const [whole, frac] = m.amount.replace("-", "").split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (m.amount.startsWith("-") ? "-" : "") + m.currency + " " + grouped + (frac ? "." + frac : "");
  }
  function number(text) {
    const [whole, frac] = String(text).split(".");
    return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? "." + frac : "");
  }
  function cell(text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    return td;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    cells.forEach((c) => tr.appendChild(c));
    return tr;
  }

  function renderTotals() {
    const body = document.querySelector("#usage-totals tbody");
    body.replaceChildren(...data.meters.map((m) => {
      const tr = row([cell(m.meter.name || m.meter.key), cell(number(m.current_total), true), cell(number(m.previous_total), true)]);
      tr.dataset.meter = m.meter.key;
      tr.children[1].className = "num current-total";
      return tr;
    }));
    if (!meterSelect.options.length) {
      data.meters.forEach((m) => meterSelect.add(new Option(m.meter.name || m.meter.key, m.meter.key)));
    }
    document.getElementById("period").textContent = data.period.start.slice(0, 10) + " → " + data.period.end.slice(0, 10);
  }

  function renderCost() {
    const invoices = data.cost_to_date.invoices;
    const body = document.querySelector("#cost-lines tbody");
    const rows = [];
    invoices.forEach((invoice) => invoice.lines.forEach((line) => {
      rows.push(row([cell(line.description), cell(line.quantity ? number(line.quantity) : "", true), cell(money(line.amount), true), cell(money(line.tax), true)]));
    }));
    if (!rows.length) rows.push(row([cell("No open period to bill.")]));
    body.replaceChildren(...rows);
    const total = document.getElementById("cost-total");
    const breakdown = document.getElementById("cost-breakdown");
    if (invoices.length === 1) {
      const i = invoices[0];
      total.textContent = money(i.total);
      breakdown.textContent = money(i.subtotal) + " + tax " + money(i.tax) + (Number(i.credits_applied.amount) ? " · credits " + money(i.credits_applied) : "");
    } else {
      total.textContent = invoices.map((i) => money(i.total)).join(" + ") || "–";
      breakdown.textContent = invoices.length + " subscriptions";
    }
  }

  function seconds(iso) { return Date.parse(iso) / 1000; }

  function renderChart() {
    const key = meterSelect.value || (data.meters[0] && data.meters[0].meter.key);
    const meter = data.meters.find((m) => m.meter.key === key);
    const host = document.getElementById("chart");
    if (!meter) { host.textContent = "No meters yet."; return; }
    const offset = seconds(data.period.start) - seconds(data.previous_period.start);
    const xs = meter.current.map((p) => seconds(p[0]));
    const previous = new Map(meter.previous.map((p) => [Math.round(seconds(p[0]) + offset), Number(p[1])]));
    const now = Date.now() / 1000;
    const current = meter.current.map((p) => (seconds(p[0]) <= now ? Number(p[1]) : null));
    const prior = xs.map((x) => (previous.has(Math.round(x)) ? previous.get(Math.round(x)) : null));
    const plot = [xs, current, prior];
    if (chart && chart.meterKey === key && chart.xsLength === xs.length) {
      chart.setData(plot);
      return;
    }
    if (chart) chart.destroy();
    chart = new uPlot({
      width: host.clientWidth || 900, height: 280,
      scales: { x: { time: true } },
      series: [{}, { label: "this period", stroke: "#3b5bdb", fill: "rgba(59,91,219,0.08)", width: 2 },
               { label: "previous period", stroke: "#98a2b3", dash: [6, 4], width: 1.5 }],
      axes: [{}, { size: 70 }],
    }, plot, host);
    chart.meterKey = key;
    chart.xsLength = xs.length;
  }

  function render() { renderTotals(); renderCost(); renderChart(); }

  async function refresh() {
    try {
      const reply = await fetch("/portal/api/live?window=" + encodeURIComponent(windowSelect.value), { cache: "no-store" });
      if (!reply.ok) throw new Error("HTTP " + reply.status);
      data = await reply.json();
      render();
      document.getElementById("live").textContent = "live · updated " + new Date().toLocaleTimeString();
    } catch (err) {
      document.getElementById("live").textContent = "reconnecting (" + err.message + ")";
    }
  }

  function burnDown() {
    const points = JSON.parse(document.getElementById("burn-data").textContent);
    const host = document.getElementById("burn");
    if (!points.length) return;
    new uPlot({ width: host.clientWidth || 400, height: 160, scales: { x: { time: true } },
      series: [{}, { label: "balance", stroke: "#12805c", fill: "rgba(18,128,92,0.08)", width: 2, paths: uPlot.paths.stepped({ align: 1 }) }],
      axes: [{}, { size: 60 }] },
      [points.map((p) => seconds(p.at)), points.map((p) => Number(p.balance))], host);
  }

  meterSelect.addEventListener("change", renderChart);
  windowSelect.addEventListener("change", refresh);
  render();
  burnDown();
  setInterval(refresh, refreshMs);
})();
