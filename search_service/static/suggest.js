/* Suggestions while typing (progressive: the form works the same without this file).
   Asks /api/suggest after a short pause and shows an ARIA listbox under the search box;
   arrow keys move, Enter picks, Escape closes. Text is inserted with textContent only. */
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

  function show(words) {
    list.textContent = "";
    items = words;
    active = -1;
    if (!words.length) { close(); return; }
    words.forEach(function (word, i) {
      var li = document.createElement("li");
      li.id = "q-suggest-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.textContent = word;
      // mousedown, not click: runs before the input loses focus and closes the list
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(word); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
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
        show(data && data.ok && Array.isArray(data.suggestions) ? data.suggestions : []);
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
    else if (ev.key === "Escape") { close(); }
    else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); choose(items[active]); }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
}());
