// Behaviour lives here, not in inline handlers: the CSP forbids inline script.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("select[data-autosubmit]")) {
      el.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    var copy = event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.getAttribute("data-copy"));
      copy.textContent = "Copied";
    }
  }, true);
  // htmx asks before sending a request whose element carries hx-confirm;
  // surface server errors (4xx/5xx fragments) instead of dropping them.
  document.body && document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    if (box) {
      var div = document.createElement("div");
      div.className = "msg msg-error";
      div.setAttribute("role", "alert");
      div.textContent = "The server answered " + event.detail.xhr.status + ". Nothing was lost; try again.";
      box.appendChild(div);
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("messages");
    if (box) {
      var div = document.createElement("div");
      div.className = "msg msg-error";
      div.textContent = "Cannot reach the portal. Check your connection and try again.";
      box.appendChild(div);
    }
  });
})();
