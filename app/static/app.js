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
