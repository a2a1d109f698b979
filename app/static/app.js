// Asks before a destructive POST: a submit button carrying data-confirm="question".
// A file, not an inline onclick: the Content-Security-Policy allows no inline script
// or event handler (app/web/security.py).
document.addEventListener("submit", function (event) {
  var button = event.submitter || event.target.querySelector("[data-confirm]");
  var question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

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
