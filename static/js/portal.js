// Behaviour lives here, not in inline handlers: the CSP forbids inline script.
(function () {
  "use strict";
  // The sidebar's account picker: one link set per vendor, pointed at the chosen
  // account (the server fills each link's data-nav-pattern), and the choice kept
  // per vendor in a cookie that the sidebar reads on the next page.
  function remember(group, accountId) {
    document.cookie = group.getAttribute("data-nav-cookie") + "=" + encodeURIComponent(accountId) +
      "; path=/; max-age=31536000; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function pickAccount(select) {
    var group = select.closest("[data-nav-vendor]");
    if (!group) { return; }
    var accountId = select.value;
    if (!/^[0-9]+$/.test(accountId)) { return; }
    group.querySelectorAll("a[data-nav-pattern]").forEach(function (link) {
      var url = link.getAttribute("data-nav-pattern").split("{account_id}").join(accountId);
      link.setAttribute("href", url);
      var here = url === location.pathname;
      link.classList.toggle("active", here);
      if (here) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
    remember(group, accountId);
  }
  function rememberPageAccount() {
    // An account page shows its own account in the picker: keep that as the choice.
    document.querySelectorAll("select[data-nav-account][data-nav-remember]").forEach(function (select) {
      var group = select.closest("[data-nav-vendor]");
      if (group) { remember(group, select.value); }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", rememberPageAccount);
  } else {
    rememberPageAccount();
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("select[data-autosubmit]")) {
      el.form.submit();
    } else if (el.matches("select[data-nav-account]")) {
      pickAccount(el);
    }
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    // Editor rows (a trigger's conditions, a day's time ranges): "Add" clones
    // the list's last row with its inputs cleared; "Remove" drops a row, or
    // clears it when it is the last one (so there is always a row to type in).
    var add = event.target.closest("[data-row-add]");
    if (add) {
      var list = document.querySelector(add.getAttribute("data-row-add"));
      var rows = list ? list.querySelectorAll("[data-row]") : [];
      if (rows.length) {
        var fresh = rows[rows.length - 1].cloneNode(true);
        fresh.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
        fresh.querySelectorAll(".error").forEach(function (e) { e.remove(); });
        fresh.classList.remove("has-error");
        list.appendChild(fresh);
        var first = fresh.querySelector("input, textarea");
        if (first) { first.focus(); }
      }
    }
    var remove = event.target.closest("[data-row-remove]");
    if (remove) {
      var row = remove.closest("[data-row]");
      var box = row && row.parentNode;
      if (box && box.querySelectorAll("[data-row]").length > 1) {
        row.remove();
      } else if (row) {
        row.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
      }
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
