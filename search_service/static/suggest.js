/* Suggestions while typing (progressive: the form works the same without this file).
   Asks /api/suggest after a short pause and shows an ARIA listbox under the search box;
   arrow keys move, Enter picks, Escape closes (and keeps the text). Text is inserted with
   textContent only. */
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggest");
  if (!input || !list || !window.fetch || !window.URLSearchParams) { return; }
  var timer = null, seq = 0, active = -1, items = [];

  function close() {
    list.hidden = true;
    list.textContent = "";
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(i) {
    var options = list.children;
    for (var k = 0; k < options.length; k++) {
      options[k].setAttribute("aria-selected", k === i ? "true" : "false");
    }
    active = i;
    if (i >= 0) { input.setAttribute("aria-activedescendant", options[i].id); }
    else { input.removeAttribute("aria-activedescendant"); }
  }

  function choose(text) {
    input.value = text;
    close();
    if (input.form) { input.form.submit(); }
  }

  // entries: {text, kind: "query"|"word"|"title", match: typed length}; the typed part is bold,
  // headlines are set apart from search terms (class + a separator before the first one).
  function show(entries) {
    list.textContent = "";
    items = entries.map(function (e) { return e.text; });
    active = -1;
    if (!entries.length) { close(); return; }
    var titles = 0;
    entries.forEach(function (entry, i) {
      var li = document.createElement("li");
      li.id = "q-suggest-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.className = "suggest-" + entry.kind + (entry.kind === "title" && !titles++ && i ? " suggest-first-title" : "");
      var n = Math.max(0, Math.min(entry.match || 0, entry.text.length));
      if (n) {
        var strong = document.createElement("strong");
        strong.textContent = entry.text.slice(0, n);
        li.appendChild(strong);
      }
      li.appendChild(document.createTextNode(entry.text.slice(n)));
      if (entry.kind === "title") {
        var tag = document.createElement("span");
        tag.className = "visually-hidden";
        tag.textContent = "（标题）";
        li.appendChild(tag);
      }
      // mousedown, not click: runs before the input loses focus and closes the list
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(entry.text); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function entriesOf(data) {
    if (!data || !data.ok) { return []; }
    if (Array.isArray(data.items)) { return data.items; }
    return (data.suggestions || []).map(function (t) { return { text: t, kind: "word", match: 0 }; });
  }

  function ask() {
    var text = input.value.trim();
    var mine = ++seq;
    if (!text) { close(); return; }
    var url = "/api/suggest?" + new URLSearchParams({ q: text, limit: "8" }).toString();
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) {
        if (mine !== seq || document.activeElement !== input) { return; }  // a newer request or focus left
        show(entriesOf(data));
      })
      .catch(function () { close(); });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });
  input.addEventListener("keydown", function (ev) {
    if (list.hidden || !items.length) { return; }
    if (ev.key === "ArrowDown") { ev.preventDefault(); highlight((active + 1) % items.length); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1); }
    // Escape closes the list only: a type=search box would otherwise also empty itself.
    else if (ev.key === "Escape") { ev.preventDefault(); close(); }
    else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); choose(items[active]); }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
}());
