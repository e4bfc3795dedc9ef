// Tollgate console and portal: the little that needs a script. Every page works without it
// (times then show in UTC, charts are absent); no inline script anywhere (Content-Security-Policy).
(function () {
  "use strict";

  // Times in the viewer's own time zone and language.
  var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = el.getAttribute("datetime");
      el.textContent = fmt.format(d);
    }
  });

  // Copy buttons: data-copy names the element whose text is copied.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) return;
      var text = source.textContent;
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(source); });
      } else {
        select(source);
      }
    });
  });
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* selected: the user copies */ }
  }

  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      if (history.length > 1) { e.preventDefault(); history.back(); }
    });
  });

  // A refused form comes back (after its redirect) with the server's error and what was typed in it:
  // on submit each form's fields are kept for this tab, except passwords, secrets (data-secret),
  // hidden fields and files; the page that shows an error puts them back, and any page drops them.
  var refused = document.getElementById("error") !== null;
  var seen = {};
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    var action = form.getAttribute("action") || location.pathname;
    seen[action] = (seen[action] || 0) + 1;
    var key = "tollgate.typed." + action + "#" + seen[action];
    var fields = function () {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name && !/^(password|hidden|file|submit|button)$/.test(el.type) && !el.hasAttribute("data-secret");
      });
    };
    var checkable = function (el) { return el.type === "checkbox" || el.type === "radio"; };
    var name = function (el) { return checkable(el) ? el.name + "=" + el.value : el.name; };
    try {
      var typed = refused ? JSON.parse(sessionStorage.getItem(key) || "null") : null;
      sessionStorage.removeItem(key);
      if (typed) {
        fields().forEach(function (el) {
          if (!(name(el) in typed)) return;
          if (checkable(el)) el.checked = typed[name(el)];
          else el.value = typed[name(el)];
        });
      }
    } catch (e) { /* no storage: nothing is kept */ }
    form.addEventListener("submit", function () {
      var typed = {};
      fields().forEach(function (el) {
        typed[name(el)] = checkable(el) ? el.checked : el.value;
      });
      try { sessionStorage.setItem(key, JSON.stringify(typed)); } catch (e) { /* no storage */ }
    });
  });

  // A dialog shown open by the server (a key's secret) gets keyboard focus on its copy button.
  var dialog = document.querySelector("dialog[open]");
  if (dialog) {
    var first = dialog.querySelector("button");
    if (first) first.focus();
  }

  // Charts: data-chart holds {"x": [epoch seconds], "series": [{"label", "values"}], "unit"}.
  var colors = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563"];
  var money = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 4 });
  var count = new Intl.NumberFormat();
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    if (typeof uPlot === "undefined") return;
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var usd = spec.unit === "USD";
    var value = function (u, v) { return v == null ? "–" : usd ? money.format(v) : count.format(v); };
    var series = [{}];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: colors[i % colors.length], width: 2, value: value,
                    fill: spec.series.length === 1 ? colors[0] + "22" : undefined });
      data.push(s.values);
    });
    if (spec.series.length === 0) {
      series.push({ label: usd ? "spend" : "calls", stroke: colors[0], value: value });
      data.push(spec.x.map(function () { return 0; }));
    }
    var opts = {
      width: Math.max(280, el.clientWidth || 600),
      height: 220,
      series: series,
      axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return value(u, v); }); }, size: 70 }],
      scales: { x: { time: true } }
    };
    var plot = new uPlot(opts, data, el);
    el.setAttribute("data-rendered", String(spec.series.reduce(function (n, s) {
      return n + s.values.filter(function (v) { return v > 0; }).length; }, 0)));
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(280, el.clientWidth || 600), height: 220 });
    });
  });
})();
