// Progressive enhancements for every page. Everything works without this file; it is a
// file, not inline script, because the Content-Security-Policy allows no inline script or
// event handler (app/web/security.py).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Asks before a destructive POST: a submit button carrying data-confirm="question".
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // The Menu button (small screens): shows or hides the navigation; Escape closes it.
  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) return;
    toggle.hidden = false;
    function set(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    }
    toggle.addEventListener("click", function () {
      set(toggle.getAttribute("aria-expanded") !== "true");
    });
    // On the whole header: the focus may be on the button or on a link of the menu.
    (toggle.closest("header") || menu).addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        set(false);
        toggle.focus();
      }
    });
  }

  // Data tables: each cell learns its column's name (data-label), so on a phone the CSS
  // can show one card per row ("Label: value"). Display changes strip table semantics in
  // some browsers, so the ARIA table roles are set explicitly. A table that still
  // scrolls sideways gets a focusable, named box so it can be scrolled from the keyboard.
  function labelTables() {
    var tables = document.querySelectorAll("main table");
    Array.prototype.forEach.call(tables, function (table) {
      var head = table.tHead && table.tHead.rows[0];
      if (!head) return;
      var labels = [];
      Array.prototype.forEach.call(head.cells, function (cell) {
        var span = cell.colSpan || 1;
        for (var i = 0; i < span; i++) labels.push(cell.textContent.trim());
      });
      table.setAttribute("role", "table");
      Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (g) {
        g.setAttribute("role", "rowgroup");
      });
      Array.prototype.forEach.call(table.rows, function (row) {
        row.setAttribute("role", "row");
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var inHead = row.parentNode === table.tHead;
          if (inHead) {
            cell.setAttribute("role", "columnheader");
          } else if (cell.tagName === "TH") {
            cell.setAttribute("role", "rowheader");
          } else {
            cell.setAttribute("role", "cell");
          }
          if (!inHead && labels[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += cell.colSpan || 1;
        });
      });
      table.classList.add("cards");
    });
  }

  // The page of a matching run in progress polls its status (no self-refreshing page)
  // and says what changes in a polite live region; when the run ends, the page reloads
  // once to show the result.
  function followRun() {
    var box = document.querySelector("[data-run-status-url]");
    if (!box) return;
    var url = box.getAttribute("data-run-status-url");
    var live = document.getElementById("run-progress");
    var last = live ? live.textContent.trim() : "";
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (run) {
          var text = run.message;
          if (live && text !== last) {
            live.textContent = text;
            last = text;
          }
          var badge = document.querySelector("[data-testid=run-status]");
          if (badge) badge.textContent = run.status;
          if (run.in_progress) {
            window.setTimeout(poll, 2000);
          } else {
            window.setTimeout(function () { window.location.reload(); }, 1500);
          }
        })
        .catch(function () {
          if (live) live.textContent = "Could not reach the server; trying again in 10 seconds.";
          window.setTimeout(poll, 10000);
        });
    }
    window.setTimeout(poll, 2000);
  }

  function start() {
    setUpMenu();
    labelTables();
    followRun();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// A form that came back with errors: move the focus to its error summary, so a
// keyboard or screen-reader user starts from the list of what to fix.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});

// The listing form: the category list shows only the chosen currency's categories,
// the unit beside the quantity follows the currency, and fields that apply only to
// offers (gift) or only to needs (least quantity) show only for that kind. Hidden
// fields are disabled so they are not sent. Without script every option and field
// is there, and the server refuses whatever does not apply, saying why.
function syncListingForm(form) {
  var currency = form.querySelector("select[name=currency]");
  var category = form.querySelector("select[data-filter-by=currency]");
  if (currency && category) {
    category.querySelectorAll("optgroup").forEach(function (group) {
      var match = group.getAttribute("data-currency") === currency.value;
      group.hidden = !match;
      group.disabled = !match;
    });
    var chosen = category.options[category.selectedIndex];
    if (chosen && chosen.parentNode.tagName === "OPTGROUP" && chosen.parentNode.disabled) {
      category.value = "";
    }
    var option = currency.options[currency.selectedIndex];
    var unit = option && option.getAttribute("data-unit");
    if (unit) {
      form.querySelectorAll("[data-unit-source=currency]").forEach(function (element) {
        element.textContent = unit;
      });
    }
  }
  var kind = form.querySelector("input[name=kind]:checked");
  if (kind) {
    form.querySelectorAll("[data-kinds]").forEach(function (box) {
      var applies = box.getAttribute("data-kinds") === kind.value;
      box.hidden = !applies;
      box.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.disabled = !applies;
      });
    });
  }
}

function setUpListingForms() {
  document.querySelectorAll("form[data-listing-form]").forEach(function (form) {
    syncListingForm(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "currency" || event.target.name === "kind") {
        syncListingForm(form);
      }
    });
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", setUpListingForms);
} else {
  setUpListingForms();
}
