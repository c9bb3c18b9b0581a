/* dqs health report: the page's own code (no third-party code here; charts are uPlot's).
 *
 * Data arrive once: `#dqs-meta` (small JSON: provenance, row counts, settings) and `#dqs-data`
 * (base64 of a gzip blob of typed columns, see engine/report/payload.py), decoded with the
 * browser's DecompressionStream. Every value from the input reaches the document as text
 * (textContent, Option text, title), never as markup. The page sets data-ready on <html> once
 * the table is drawn (data-ready-ms: milliseconds since navigation start).
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function bdi(text) { // an input value inside other text: isolated, so right-to-left text stays in its place
    var e = document.createElement("bdi");
    e.textContent = text;
    return e;
  }

  var INT = new Intl.NumberFormat("en-US");
  function fmtInt(v) { return v === null || v === undefined ? "–" : (typeof v === "bigint" ? v.toString() : INT.format(v)); }
  function fmtPct(rate, digits) { return (rate * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }
  function rate(f, p) { return p + f === 0 ? 0 : f / (p + f); }
  function dayText(epochDays) { return new Date(epochDays * 86400000).toISOString().slice(0, 10); }
  function epochDays(iso) { return Math.round(Date.parse(iso + "T00:00:00Z") / 86400000); }
  function oneLine(s) { return s.replace(/[\n\r\t\u2028\u2029]/g, " "); }

  // Python's "{:.2%}" (and DuckDB's printf('%.2f', x * 100)): correctly rounded, ties to even
  function pct2(x) {
    var v = x * 100;
    var eighths = v * 8; // exact: v is a tie (third decimal exactly 5) only when v = m / 8 with m odd
    if (Number.isInteger(eighths) && Math.abs(eighths % 2) === 1) {
      var n = Math.floor(v * 100);
      return ((n % 2 === 0 ? n : n + 1) / 100).toFixed(2);
    }
    return v.toFixed(2);
  }

  // ---------------------------------------------------------------- decoding

  function base64Bytes(text) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  var TYPES = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, i32: Int32Array, f64: Float64Array, i64: BigInt64Array };

  async function decodePayload(text) {
    var stream = new Blob([base64Bytes(text)]).stream().pipeThrough(new DecompressionStream("gzip"));
    var buf = await new Response(stream).arrayBuffer();
    var length = new DataView(buf).getUint32(0, true);
    var header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, length)));
    var base = 4 + length;
    base += (8 - (base % 8)) % 8;
    var cols = {};
    Object.keys(header.columns).forEach(function (name) {
      var m = header.columns[name], T = TYPES[m.type];
      if (m.shuffle) { // byte planes back to values
        var size = T.BYTES_PER_ELEMENT, n = m.length;
        var planes = new Uint8Array(buf, base + m.offset, n * size), bytes = new Uint8Array(n * size);
        for (var b = 0; b < size; b++) for (var i = 0; i < n; i++) bytes[i * size + b] = planes[b * n + i];
        cols[name] = new T(bytes.buffer);
      } else {
        cols[name] = new T(buf, base + m.offset, m.length);
      }
    });
    return { header: header, cols: cols };
  }

  // ---------------------------------------------------------------- the data

  var meta, header, cols, N;
  var derived = {};

  function dict(name) { return header.columns[name].dictionary; }
  function text(name, g) { return dict(name)[cols[name][g]]; }
  function value(name, g) { // an integer column's value (null when missing)
    var m = header.columns[name];
    var v = cols[name][g];
    if (m.null !== undefined && (m.null === "nan" ? Number.isNaN(v) : v === m.null)) return null;
    if (m.type === "i64") return v;
    return v + (m.add || 0);
  }

  function derive() {
    ["total", "1m", "3m", "12m"].forEach(function (w) {
      var r = new Float64Array(N);
      for (var i = 0; i < N; i++) r[i] = rate(value("fail_count_" + w, i), value("pass_count_" + w, i));
      derived["fail_rate_" + w] = r;
    });
    var runs = new Float64Array(N);
    for (var j = 0; j < N; j++) runs[j] = value("pass_count_total", j) + value("fail_count_total", j);
    derived.runs = runs;
    var fc = meta.forecast;
    if (fc && cols.forecast_expected) {
      var S = fc.series, K = fc.days, miss = fc.missing;
      var lowest = new Float64Array(S).fill(NaN);
      var e = cols.forecast_expected;
      for (var h = 0; h < K; h++) {
        for (var s = 0; s < S; s++) {
          var v = e[h * S + s];
          if (v !== miss && !(lowest[s] <= v / 10)) lowest[s] = v / 10;
        }
      }
      var gmin = new Float64Array(N);
      for (var g = 0; g < N; g++) gmin[g] = lowest[seriesOf(g)];
      derived.forecast_min = gmin;
      if (cols.forecast_probability) {
        var pr = cols.forecast_probability, highest = new Float64Array(S).fill(NaN);
        for (var h2 = 0; h2 < K; h2++) {
          for (var s2 = 0; s2 < S; s2++) {
            var q = pr[h2 * S + s2];
            if (q !== fc.missing_probability && !(highest[s2] >= q / 100)) highest[s2] = q / 100;
          }
        }
        var gmax = new Float64Array(N);
        for (var g2 = 0; g2 < N; g2++) gmax[g2] = highest[seriesOf(g2)];
        derived.forecast_risk = gmax;
      }
    }
  }

  function sentence(g) {
    return "\u2022 On " + dayText(value("business_date_latest", g)) +
      ", dataset \"" + oneLine3(text("dataset_name", g)) +
      "\" (source: " + oneLine3(text("source", g)) +
      ", tenant: " + oneLine3(text("tenant_id", g)) +
      ", UUID: " + oneLine3(text("dataset_uuid", g)) +
      ") under rule \"" + oneLine3(text("rule_name", g)) +
      "\" [" + oneLine3(text("rule_code", g)) +
      "] recorded " + fmtRaw(value("fail_count_total", g)) + " failures and " + fmtRaw(value("pass_count_total", g)) +
      " passes overall (fail-rate " + pct2(derived.fail_rate_total[g]) +
      "%; 1-month " + pct2(derived.fail_rate_1m[g]) +
      "%, 3-month " + pct2(derived.fail_rate_3m[g]) +
      "%, 12-month " + pct2(derived.fail_rate_12m[g]) +
      "%) \u2014 trend " + text("trend_flag", g) + ".";
  }
  function oneLine3(s) { return s.replace(/[\n\r\t]/g, " "); } // exactly nl_all_rows.txt's rule
  function fmtRaw(v) { return String(v); }

  // one day of a group's history: {p, f, u} or null when it had no run
  function historyDay(g, d) {
    var W = meta.history.days;
    var cell = g * W + d;
    var c = cols.history[cell];
    if (c === 0) return null;
    if (c === meta.settings.escape) {
      var cells = cols.escape_cell, lo = 0, hi = cells.length - 1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (cells[mid] < cell) lo = mid + 1; else if (cells[mid] > cell) hi = mid - 1;
        else return { p: value("escape_passes", mid), f: value("escape_fails", mid), u: value("escape_unknown", mid) };
      }
      return null;
    }
    return { p: c & 7, f: (c >> 3) & 7, u: c >> 6 };
  }

  // a group's forecast series: its own number unless several groups share a series
  function seriesOf(g) { return cols.group_series ? cols.group_series[g] : g; }

  function forecastOf(g) {
    var fc = meta.forecast;
    if (!fc || !cols.forecast_expected) return null;
    var s = seriesOf(g), S = fc.series, out = [];
    for (var h = 0; h < fc.days; h++) {
      var e = cols.forecast_expected[h * S + s];
      var q = cols.forecast_probability ? cols.forecast_probability[h * S + s] : fc.missing_probability;
      out.push(e === fc.missing ? null : {
        day: epochDays(fc.origin) + h + 1, expected: e / 10,
        lower: (e - cols.forecast_below[h * S + s]) / 10, upper: cols.forecast_upper[h * S + s] / 10,
        probability: q === fc.missing_probability ? null : q / 100,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- overview

  function card(parent, label, big, sub) {
    var c = el("div", "card");
    c.appendChild(el("div", "label", label));
    c.appendChild(el("div", "big", big));
    if (sub) c.appendChild(el("div", "small", sub));
    parent.appendChild(c);
    return c;
  }

  function renderOverview() {
    var t = header.totals, rows = meta.rows, cards = $("cards");
    $("subtitle").textContent = meta.reference_date
      ? "Reference date " + meta.reference_date + (meta.as_of ? " (--as-of)" : " (the latest business date)") +
        " \u00b7 generated " + meta.generated_at
      : "No accepted rows: nothing to show yet \u00b7 generated " + meta.generated_at;
    card(cards, "Groups", fmtInt(t.groups), t.groups_without_rule ? fmtInt(t.groups_without_rule) + " without rule metadata" : "source \u00b7 tenant \u00b7 dataset \u00b7 rule");
    card(cards, "Rows read", fmtInt(rows.read), fmtInt(rows.accepted) + " accepted" + (rows.after_as_of ? ", " + fmtInt(rows.after_as_of) + " after --as-of" : ""));
    card(cards, "Rejected rows", fmtInt(rows.rejected), "excluded from every figure");
    card(cards, "Unknown status", fmtInt(rows.unknown_status), "neither pass nor fail");
    [["whole history", "total"], ["1 month", "1m"], ["3 months", "3m"], ["12 months", "12m"]].forEach(function (w) {
      var p = t["pass_" + w[1]], f = t["fail_" + w[1]];
      var c = card(cards, "Pass rate, " + w[0], p + f ? fmtPct(1 - rate(f, p), 2) : "–",
        "fail rate " + (p + f ? fmtPct(rate(f, p), 2) : "–") + " \u00b7 " + fmtInt(p + f) + " runs");
      if (p + f && rate(f, p) > 0.1) c.classList.add("bad");
    });
    var tc = card(cards, "Trend (groups)", "", "1-month fail rate vs 3-month, \u00b15 points");
    tc.classList.add("trend");
    var big = tc.querySelector(".big");
    big.appendChild(el("span", "trend-up", "\u2191 " + fmtInt(t.trend_up)));
    big.appendChild(document.createTextNode(" "));
    big.appendChild(el("span", "trend-equal", "= " + fmtInt(t.trend_equal)));
    big.appendChild(document.createTextNode(" "));
    big.appendChild(el("span", "trend-down", "\u2193 " + fmtInt(t.trend_down)));
    var st = meta.store;
    card(cards, "Store version", String(st.version), st.temporary ? "a temporary store of INPUT" : "committed " + st.committed_at);

    var facts = $("provenance-facts");
    function fact(k, v) { facts.appendChild(el("dt", null, k)); facts.appendChild(el("dd", null, v)); }
    fact("store", st.temporary ? "temporary (INPUT ingested for this report)" : st.path);
    fact("store version", String(st.version) + " (committed " + st.committed_at + ")");
    fact("rules file", meta.rules_file || "none");
    fact("files", fmtInt(meta.files.length));
    fact("per-series history", meta.history.days ? "the last " + meta.history.days + " days (" + meta.history.first + " to " + meta.reference_date + ")" : "none");
    if (meta.forecast) fact("model", meta.forecast.model + " (trained " + (meta.forecast.created_at || "?") + ")");
    var body = $("files-table").tBodies[0];
    meta.files.forEach(function (f) {
      var tr = document.createElement("tr");
      var td = el("td", null, f.path); td.dir = "auto"; tr.appendChild(td);
      tr.appendChild(el("td", "num", fmtInt(f.rows_read)));
      tr.appendChild(el("td", "num", fmtInt(f.rows_accepted)));
      tr.appendChild(el("td", "num", fmtInt(f.rows_rejected)));
      body.appendChild(tr);
    });
    $("footer").textContent = "dqs " + meta.dqs_version + " \u00b7 charts: uPlot " + (meta.libraries.uplot || "") +
      " \u00b7 one offline file: its Content-Security-Policy blocks every network request.";
  }

  var charts = [];
  function chartWidth(node) { return Math.max(320, node.clientWidth - 8); }

  function renderOverall() {
    var o = header.overall;
    var node = $("overall-chart");
    if (!o.first || !o.days.day.length) { node.textContent = "No daily results in the last 365 days."; return; }
    var xs = [], pass = [], runs = [], fails = [];
    for (var i = 0; i < o.days.day.length; i++) {
      var p = o.days.passes[i], f = o.days.fails[i];
      xs.push(epochDays(o.days.day[i]) * 86400);
      pass.push(p + f ? 100 * p / (p + f) : null);
      runs.push(p + f + o.days.unknown[i]);
      fails.push(f);
    }
    $("overall-note").textContent = "(" + o.first + " to " + meta.reference_date + ")";
    charts.push(new uPlot({
      width: chartWidth(node), height: 220,
      scales: { x: { time: true }, pct: { range: [0, 100] }, runs: {} },
      axes: [{}, { scale: "pct", label: "pass %", values: function (u, v) { return v.map(function (x) { return x + "%"; }); } },
        { scale: "runs", side: 1, label: "runs", grid: { show: false } }],
      series: [{},
        { label: "runs", scale: "runs", stroke: "#9aa5b1", fill: "#d5dbe1", paths: uPlot.paths.bars({ size: [0.9, 12] }), points: { show: false } },
        { label: "failed runs", scale: "runs", stroke: "#c0392b", fill: "#e8a49c", paths: uPlot.paths.bars({ size: [0.9, 12] }), points: { show: false } },
        { label: "pass %", scale: "pct", stroke: "#1f6f43", width: 2, points: { show: false },
          value: function (u, v) { return v === null ? "–" : v.toFixed(1) + "%"; } }],
    }, [xs, runs, fails, pass], node));
  }

  // ---------------------------------------------------------------- where it hurts

  var FACETS = [["tenant_id", "By tenant"], ["source", "By source"], ["dimension", "By dimension"], ["category", "By category"]];

  function renderHurts() {
    $("hurts-note").textContent = "Fail rate over the last month (30 days before the reference date); bars show the worst first. Click one to filter the table.";
    var host = $("facets");
    FACETS.forEach(function (f) {
      var rows = header.breakdown[f[0]].slice().sort(function (a, b) {
        return rate(b.fail_1m, b.pass_1m) - rate(a.fail_1m, a.pass_1m) || b.groups - a.groups;
      });
      var panel = el("div", "panel facet");
      panel.appendChild(el("h3", null, f[1] + " "));
      panel.firstChild.appendChild(el("span", "note", "(" + fmtInt(rows.length) + ")"));
      var list = el("ul", "bars");
      rows.slice(0, 10).forEach(function (r) {
        var li = el("li", "bar-row");
        li.tabIndex = 0;
        var name = el("span", "bar-name", r.value === "" ? "(none)" : oneLine(r.value));
        name.dir = "auto"; name.title = r.value;
        var bar = el("span", "bar");
        var fill = el("span", "bar-fill");
        var rt = rate(r.fail_1m, r.pass_1m);
        fill.style.width = (100 * rt).toFixed(1) + "%";
        bar.appendChild(fill);
        var fig = el("span", "bar-figure", fmtPct(rt) + " \u00b7 " + fmtInt(r.groups) + (r.groups === 1 ? " group" : " groups") +
          (r.trend_up ? " \u00b7 \u2191" + fmtInt(r.trend_up) : ""));
        li.appendChild(name); li.appendChild(bar); li.appendChild(fig);
        var pick = function () { setFilter(f[0], r.value); };
        li.addEventListener("click", pick);
        li.addEventListener("keydown", function (ev) { if (ev.key === "Enter") pick(); });
        list.appendChild(li);
      });
      if (!rows.length) list.appendChild(el("li", "note", "nothing yet"));
      panel.appendChild(list);
      host.appendChild(panel);
    });

    $("worst-note").textContent = "(1-month fail rate, at least " + meta.settings.worst_min_runs + " runs)";
    offenders($("worst-list"), header.worst, function (g) {
      var p = value("pass_count_1m", g), f = value("fail_count_1m", g);
      return fmtPct(derived.fail_rate_1m[g]) + " (" + fmtInt(f) + " of " + fmtInt(p + f) + ")";
    });
    $("up-note").textContent = "(1-month fail rate above the 3-month one by more than 5 points; " + fmtInt(header.totals.trend_up) + " in all)";
    offenders($("up-list"), header.trend_up, function (g) {
      return fmtPct(derived.fail_rate_3m[g]) + " \u2192 " + fmtPct(derived.fail_rate_1m[g]);
    });
    var fc = meta.forecast;
    if (!fc) {
      $("risk-note").textContent = "(give --model to forecast the next days)";
      $("risk-list").appendChild(el("li", "note", "No model given."));
      return;
    }
    var band = Math.round(100 * fc.coverage) + "% band";
    if (fc.at_risk_by === "probability") {
      $("risk-note").textContent = "(the model's chance that a day's pass % is below " + fc.threshold + "% is at least " +
        Math.round(100 * fc.at_risk_probability) + "% on one of the " + fc.days + " days after " + fc.origin + "; " +
        fmtInt(fc.at_risk_groups) + " in all)";
    } else {
      $("risk-note").textContent = "(expected pass % below " + fc.at_risk_below + "% on one of the " + fc.days +
        " days after " + fc.origin + "; " + fmtInt(fc.at_risk_groups) + " in all; " + band + ")";
    }
    offenders($("risk-list"), header.at_risk, function (g) {
      var days = forecastOf(g).filter(Boolean), pick = days[0];
      if (fc.at_risk_by === "probability") {
        days.forEach(function (d) { if (d.probability > pick.probability) pick = d; });
        return Math.round(100 * pick.probability) + "% on " + dayText(pick.day) + " (expected " + pick.expected.toFixed(1) + "%)";
      }
      days.forEach(function (d) { if (d.expected < pick.expected) pick = d; });
      return pick.expected.toFixed(1) + "% on " + dayText(pick.day) + " (" + pick.lower.toFixed(0) + "\u2013" + pick.upper.toFixed(0) + "%)";
    });
  }

  function offenders(list, groups, figure) {
    if (!groups.length) { list.appendChild(el("li", "note", "none")); return; }
    groups.forEach(function (g) {
      var li = el("li", "offender");
      li.tabIndex = 0;
      var name = el("span", "who");
      name.appendChild(bdi(oneLine(text("dataset_name", g))));
      name.appendChild(document.createTextNode(" \u00b7 rule "));
      name.appendChild(bdi(oneLine(text("rule_code", g))));
      var sub = el("span", "where");
      sub.appendChild(bdi(oneLine(text("tenant_id", g))));
      sub.appendChild(document.createTextNode(" \u00b7 "));
      sub.appendChild(bdi(oneLine(text("source", g))));
      li.appendChild(name);
      li.appendChild(el("span", "figure", figure(g)));
      li.appendChild(sub);
      li.addEventListener("click", function () { openSeries(g); });
      li.addEventListener("keydown", function (ev) { if (ev.key === "Enter") openSeries(g); });
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- the table (virtual: only visible rows exist)

  var COLUMNS = [
    { key: "source", label: "Source", kind: "text", width: "110px" },
    { key: "tenant_id", label: "Tenant", kind: "text", width: "120px" },
    { key: "dataset_name", label: "Dataset", kind: "text", width: "minmax(170px, 2fr)" },
    { key: "dataset_uuid", label: "UUID", kind: "text", width: "120px" },
    { key: "rule_code", label: "Rule", kind: "text", width: "64px" },
    { key: "rule_name", label: "Rule name", kind: "text", width: "minmax(140px, 1.5fr)" },
    { key: "dimension", label: "Dimension", kind: "text", width: "108px" },
    { key: "category", label: "Cat.", kind: "text", width: "52px" },
    { key: "business_date_latest", label: "Latest", kind: "date", width: "92px" },
    { key: "runs", label: "Runs", kind: "derived", width: "72px" },
    { key: "fail_rate_total", label: "Fail all", kind: "rate", width: "70px" },
    { key: "fail_rate_1m", label: "Fail 1m", kind: "rate", width: "70px" },
    { key: "fail_rate_3m", label: "Fail 3m", kind: "rate", width: "70px" },
    { key: "fail_rate_12m", label: "Fail 12m", kind: "rate", width: "76px" },
    { key: "trend_flag", label: "Trend", kind: "text", width: "62px" },
  ];
  var FILTERS = ["tenant_id", "source", "dimension", "category", "trend_flag"];
  var SEARCHED = ["dataset_name", "dataset_uuid", "rule_code", "rule_name", "tenant_id", "source", "dimension", "category", "rule_type"];
  var ROW_HEIGHT = 26;
  var state = { search: "", filters: {}, sort: null, desc: false };
  var view = new Uint32Array(0);
  var pool = [];
  var lowered = {};

  function cellText(col, g) {
    switch (col.kind) {
      case "text": return text(col.key, g);
      case "date": return dayText(value(col.key, g));
      case "derived": return fmtInt(derived.runs[g]);
      case "rate": return fmtPct(derived[col.key][g]);
      case "forecast": var v = derived.forecast_min[g]; return Number.isNaN(v) ? "–" : v.toFixed(1) + "%";
      case "risk": var r = derived.forecast_risk[g]; return Number.isNaN(r) ? "–" : Math.round(100 * r) + "%";
    }
    return "";
  }

  function sortKey(col) {
    if (col.kind === "text" || col.kind === "date") return cols[col.key]; // dictionaries are sorted: indices sort as the text
    return derived[col.key];
  }

  function buildTable() {
    if (meta.forecast) COLUMNS.push({ key: "forecast_min", label: "Expected", kind: "forecast", width: "76px" });
    if (meta.forecast && cols.forecast_probability) COLUMNS.push({ key: "forecast_risk", label: "Risk", kind: "risk", width: "60px" });
    var template = COLUMNS.map(function (c) { return c.width; }).join(" ");
    document.documentElement.style.setProperty("--grid", template);
    var head = $("thead");
    COLUMNS.forEach(function (c, i) {
      var th = el("div", "th" + (c.kind === "text" || c.kind === "date" ? "" : " num"), c.label);
      th.setAttribute("role", "columnheader");
      th.dataset.col = String(i);
      th.tabIndex = 0;
      if (c.kind === "forecast") th.title = "Lowest expected pass % over the next " + meta.forecast.days + " days";
      if (c.kind === "risk") th.title = "Highest chance over the next " + meta.forecast.days + " days that a day's pass % is below " + meta.forecast.threshold + "%";
      th.addEventListener("click", function () { sortBy(i); });
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") sortBy(i); });
      head.appendChild(th);
    });
    FILTERS.forEach(function (key) {
      var select = $("filter-" + key);
      select.appendChild(new Option("all", "-1"));
      dict(key).forEach(function (v, i) { select.appendChild(new Option(v === "" ? "(none)" : oneLine(v), String(i))); });
      select.addEventListener("change", function () { state.filters[key] = Number(select.value); refresh(); });
    });
    var timer = null;
    $("search").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.search = $("search").value.trim().toLowerCase(); refresh(); }, 120);
    });
    $("reset").addEventListener("click", function () {
      state.search = ""; $("search").value = ""; state.filters = {};
      FILTERS.forEach(function (k) { $("filter-" + k).value = "-1"; });
      state.sort = null; refresh();
    });
    var viewport = $("viewport");
    var pending = false;
    viewport.addEventListener("scroll", function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; drawRows(); });
    });
    $("rows").addEventListener("click", function (ev) {
      var row = ev.target.closest(".tr");
      if (row && row.dataset.group) openSeries(Number(row.dataset.group));
    });
    viewport.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && view.length) openSeries(view[Math.floor(viewport.scrollTop / ROW_HEIGHT)]);
    });
    window.addEventListener("resize", function () { drawRows(); });
  }

  function setFilter(key, valueText) {
    var i = dict(key).indexOf(valueText);
    state.filters[key] = i;
    $("filter-" + key).value = String(i);
    refresh();
    $("groups").scrollIntoView({ behavior: "instant", block: "start" });
  }

  function sortBy(i) {
    if (state.sort === i) state.desc = !state.desc; else { state.sort = i; state.desc = ["rate", "derived", "risk"].indexOf(COLUMNS[i].kind) >= 0; }
    refresh();
  }

  function refresh() {
    var q = state.search, matches = null;
    if (q) {
      matches = SEARCHED.map(function (key) {
        if (!lowered[key]) lowered[key] = dict(key).map(function (s) { return s.toLowerCase(); });
        return { col: cols[key], hit: lowered[key].map(function (s) { return s.indexOf(q) >= 0; }) };
      });
    }
    var filters = FILTERS.filter(function (k) { return state.filters[k] !== undefined && state.filters[k] >= 0; })
      .map(function (k) { return { col: cols[k], want: state.filters[k] }; });
    var out = new Uint32Array(N), n = 0;
    outer: for (var g = 0; g < N; g++) {
      for (var f = 0; f < filters.length; f++) if (filters[f].col[g] !== filters[f].want) continue outer;
      if (matches) {
        var hit = false;
        for (var m = 0; m < matches.length; m++) if (matches[m].hit[matches[m].col[g]]) { hit = true; break; }
        if (!hit) continue;
      }
      out[n++] = g;
    }
    view = out.slice(0, n);
    if (state.sort !== null) {
      var key = sortKey(COLUMNS[state.sort]), sign = state.desc ? -1 : 1;
      view.sort(function (a, b) {
        var x = key[a], y = key[b];
        if (x !== x) return y !== y ? a - b : 1; // NaN (no forecast) last
        if (y !== y) return -1;
        return x < y ? -sign : x > y ? sign : a - b;
      });
    }
    Array.prototype.forEach.call($("thead").children, function (th, i) {
      th.setAttribute("aria-sort", state.sort === i ? (state.desc ? "descending" : "ascending") : "none");
    });
    var count = $("row-count");
    count.textContent = fmtInt(n) + " of " + fmtInt(N) + " groups";
    count.dataset.count = String(n);
    count.dataset.refreshes = String(Number(count.dataset.refreshes || 0) + 1);
    $("spacer").style.height = (n * ROW_HEIGHT) + "px";
    $("viewport").scrollTop = 0;
    drawRows();
  }

  function drawRows() {
    var viewport = $("viewport"), rows = $("rows");
    var visible = Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 8;
    while (pool.length < visible) {
      var tr = el("div", "tr");
      tr.setAttribute("role", "row");
      COLUMNS.forEach(function (c) {
        var td = el("div", "td" + (c.kind === "text" || c.kind === "date" ? "" : " num"));
        td.setAttribute("role", "cell");
        if (c.kind === "text") td.dir = "auto";
        tr.appendChild(td);
      });
      rows.appendChild(tr);
      pool.push(tr);
    }
    var first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - 4);
    rows.style.transform = "translateY(" + (first * ROW_HEIGHT) + "px)";
    for (var i = 0; i < pool.length; i++) {
      var row = pool[i], at = first + i;
      if (at >= view.length) { row.hidden = true; delete row.dataset.group; continue; }
      var g = view[at];
      row.hidden = false;
      row.classList.toggle("odd", at % 2 === 1);
      if (row.dataset.group === String(g)) continue;
      row.dataset.group = String(g);
      for (var c = 0; c < COLUMNS.length; c++) {
        var cell = row.children[c], t = cellText(COLUMNS[c], g);
        cell.textContent = COLUMNS[c].kind === "text" ? oneLine(t) : t;
        if (COLUMNS[c].kind === "text") cell.title = t;
        if (COLUMNS[c].key === "trend_flag") cell.className = "td trend-" + t;
      }
    }
  }

  // ---------------------------------------------------------------- a series

  var seriesChart = null;
  var ZOOM_DAYS = 120;

  function openSeries(g) {
    var section = $("series");
    section.hidden = false;
    $("series-title").textContent = "";
    $("series-title").appendChild(bdi(oneLine(text("dataset_name", g))));
    $("series-title").appendChild(document.createTextNode(" \u00b7 rule "));
    $("series-title").appendChild(bdi(oneLine(text("rule_code", g))));
    var key = $("series-key");
    key.textContent = "";
    [["source", "source"], ["tenant", "tenant_id"], ["UUID", "dataset_uuid"], ["rule", "rule_name"],
      ["type", "rule_type"], ["dimension", "dimension"], ["category", "category"], ["level", "last_execution_level"]].forEach(function (kv, i) {
      if (i) key.appendChild(document.createTextNode(" \u00b7 "));
      key.appendChild(document.createTextNode(kv[0] + ": "));
      key.appendChild(bdi(oneLine(text(kv[1], g)) || "\u2013"));
    });
    var cards = $("series-cards");
    cards.textContent = "";
    [["whole history", "total"], ["1 month", "1m"], ["3 months", "3m"], ["12 months", "12m"]].forEach(function (w) {
      var p = value("pass_count_" + w[1], g), f = value("fail_count_" + w[1], g);
      var c = card(cards, "Fail rate, " + w[0], fmtPct(derived["fail_rate_" + w[1]][g], 2), fmtInt(f) + " failed of " + fmtInt(p + f));
      if (derived["fail_rate_" + w[1]][g] > 0.1) c.classList.add("bad");
    });
    card(cards, "Trend", text("trend_flag", g), "latest " + dayText(value("business_date_latest", g)));
    card(cards, "Records (latest)", fmtInt(value("dataset_record_count_latest", g)), fmtInt(value("filtered_record_count_latest", g)) + " filtered");
    var fc = forecastOf(g);
    var table = $("series-forecast");
    table.textContent = "";
    if (fc) {
      var days = fc.filter(Boolean);
      if (days.length) {
        var low = days[0];
        days.forEach(function (d) { if (d.expected < low.expected) low = d; });
        var c = card(cards, "Lowest expected, next " + days.length + " days", low.expected.toFixed(1) + "%",
          "on " + dayText(low.day) + "; " + Math.round(100 * meta.forecast.coverage) + "% band " + low.lower.toFixed(1) + "\u2013" + low.upper.toFixed(1) + "%");
        if (low.expected < meta.forecast.at_risk_below) c.classList.add("bad");
        var risky = days[0], withRisk = days[0].probability !== null;
        days.forEach(function (d) { if (d.probability > risky.probability) risky = d; });
        if (withRisk) {
          var rc = card(cards, "Risk, next " + days.length + " days", Math.round(100 * risky.probability) + "%",
            "the model's chance that the pass % of " + dayText(risky.day) + " is below " + meta.forecast.threshold + "%");
          if (risky.probability >= meta.forecast.at_risk_probability) rc.classList.add("bad");
        }
        var head = document.createElement("tr");
        var names = ["day", "expected pass %", Math.round(100 * meta.forecast.coverage) + "% band"];
        if (withRisk) names.push("chance below " + meta.forecast.threshold + "%");
        names.forEach(function (h) { head.appendChild(el("th", null, h)); });
        table.appendChild(head);
        days.forEach(function (d) {
          var tr = document.createElement("tr");
          tr.appendChild(el("td", null, dayText(d.day)));
          tr.appendChild(el("td", "num", d.expected.toFixed(1) + "%"));
          tr.appendChild(el("td", "num", d.lower.toFixed(1) + "\u2013" + d.upper.toFixed(1) + "%"));
          if (withRisk) tr.appendChild(el("td", "num", d.probability === null ? "\u2013" : Math.round(100 * d.probability) + "%"));
          table.appendChild(tr);
        });
      } else {
        card(cards, "Forecast", "none", "the model made no forecast for this series");
      }
    }
    $("series-sentence").textContent = sentence(g);
    section.dataset.group = String(g);
    drawSeries(g, fc);
    section.scrollIntoView({ behavior: "instant", block: "start" });
  }

  function drawSeries(g, fc) {
    var node = $("series-chart");
    if (seriesChart) { seriesChart.destroy(); seriesChart = null; }
    node.textContent = "";
    var W = meta.history.days;
    if (!W) { node.textContent = "No daily history in this report."; return; }
    var first = epochDays(meta.history.first);
    var byDay = {};
    var last = first + W - 1;
    (fc || []).forEach(function (f) { if (f) { byDay[f.day] = f; if (f.day > last) last = f.day; } });
    var xs = [], pass = [], runs = [], fails = [], incident = [], exp = [], lo = [], hi = [];
    var incidents = 0, observed = 0, fdays = 0;
    for (var d = 0; first + d <= last; d++) {
      if (d >= W) fdays++;
      xs.push((first + d) * 86400);
      var day = d < W ? historyDay(g, d) : null;
      if (day) {
        var decided = day.p + day.f;
        pass.push(decided ? 100 * day.p / decided : null);
        runs.push(day.p + day.f + day.u);
        fails.push(day.f);
        var bad = decided > 0 && day.f * 2 > decided;
        incident.push(bad ? 1 : 0);
        if (decided) observed++;
        if (bad && !(d && incident[d - 1])) incidents++;
      } else { pass.push(null); runs.push(null); fails.push(null); incident.push(0); }
      var f = byDay[first + d];
      exp.push(f ? f.expected : null); lo.push(f ? f.lower : null); hi.push(f ? f.upper : null);
    }
    var legend = (W + fdays > ZOOM_DAYS ? "Showing the latest " + ZOOM_DAYS + " days: drag across the chart to zoom, double-click for all " + W + ". " : "") +
      "Last " + W + " days: " + observed + " days with a pass or fail, " + incidents +
      (incidents === 1 ? " incident" : " incidents") + " (runs of days failing more than half their runs, shaded).";
    if (fc) legend += " Dashed: the model's expected pass % for the " + fc.length + " days after " + meta.forecast.origin +
      ", shaded: its " + Math.round(100 * meta.forecast.coverage) + "% band.";
    $("series-legend").textContent = legend;
    var series = [{},
      { label: "runs", scale: "runs", stroke: "#9aa5b1", fill: "#d5dbe1", paths: uPlot.paths.bars({ size: [0.9, 10] }), points: { show: false } },
      { label: "failed", scale: "runs", stroke: "#c0392b", fill: "#e8a49c", paths: uPlot.paths.bars({ size: [0.9, 10] }), points: { show: false } },
      { label: "pass %", scale: "pct", stroke: "#1f6f43", width: 1.5, spanGaps: false, points: { show: true, size: 4, fill: "#1f6f43" },
        value: function (u, v) { return v === null ? "–" : v.toFixed(1) + "%"; } },
    ];
    var data = [xs, runs, fails, pass];
    var opts = {
      width: chartWidth(node), height: 280,
      scales: { x: { time: true }, pct: { range: [0, 100] }, runs: { range: function (u, min, max) { return [0, Math.max(2, (max || 0) * 3)]; } } },
      axes: [{}, { scale: "pct", label: "pass %", values: function (u, v) { return v.map(function (x) { return x + "%"; }); } },
        { scale: "runs", side: 1, label: "runs per day", grid: { show: false } }],
      series: series,
      hooks: { drawClear: [function (u) { shadeIncidents(u, incident); }] },
    };
    if (fc) {
      series.push({ label: "expected %", scale: "pct", stroke: "#1d4ed8", width: 2, dash: [6, 4], points: { show: false },
        value: function (u, v) { return v === null ? "–" : v.toFixed(1) + "%"; } });
      series.push({ label: "band low", scale: "pct", stroke: "#93a9e8", width: 1, points: { show: false } });
      series.push({ label: "band high", scale: "pct", stroke: "#93a9e8", width: 1, points: { show: false } });
      data.push(exp, lo, hi);
      opts.bands = [{ series: [6, 5], fill: "rgba(29, 78, 216, 0.15)" }];
    }
    seriesChart = new uPlot(opts, data, node);
    if (xs.length > ZOOM_DAYS) { // the latest days first; drag to zoom, double-click for the whole window
      seriesChart.setScale("x", { min: xs[xs.length - ZOOM_DAYS], max: xs[xs.length - 1] + 43200 });
    }
    node.dataset.drawn = String(g);
    node.dataset.band = fc && fc.some(Boolean) ? "yes" : "no";
  }

  function shadeIncidents(u, incident) {
    var ctx = u.ctx, xs = u.data[0];
    var step = xs.length > 1 ? u.valToPos(xs[1], "x", true) - u.valToPos(xs[0], "x", true) : 4;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.fillStyle = "rgba(192, 57, 43, 0.16)";
    for (var i = 0; i < incident.length; i++) {
      if (!incident[i]) continue;
      var x = u.valToPos(xs[i], "x", true) - step / 2;
      ctx.fillRect(x, u.bbox.top, Math.max(step, 1), u.bbox.height);
    }
    ctx.restore();
  }

  // ---------------------------------------------------------------- start

  async function main() {
    meta = JSON.parse($("dqs-meta").textContent);
    var decoded = await decodePayload($("dqs-data").textContent.trim());
    header = decoded.header;
    cols = decoded.cols;
    N = meta.groups;
    derive();
    buildTable();
    refresh();
    renderOverview();
    renderOverall();
    renderHurts();
    $("series-close").addEventListener("click", function () {
      $("series").hidden = true;
      if (seriesChart) { seriesChart.destroy(); seriesChart = null; }
    });
    window.dqsReport = { meta: meta, header: header, cols: cols, sentence: sentence, historyDay: historyDay,
      forecastOf: forecastOf, value: value, text: text, view: function () { return Array.from(view); }, open: openSeries,
      chart: function () { return seriesChart; } };
    document.documentElement.dataset.readyMs = String(Math.round(performance.now()));
    document.documentElement.dataset.ready = "true";
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.setSize({ width: chartWidth(c.root.parentNode), height: c.height }); });
      if (seriesChart) seriesChart.setSize({ width: chartWidth($("series-chart")), height: seriesChart.height });
    });
  }

  main().catch(function (err) {
    var box = $("load-error");
    box.hidden = false;
    box.textContent = "This report could not be read: " + (err && err.message ? err.message : String(err));
    throw err;
  });
})();
