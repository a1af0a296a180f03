/* tr-intake support form embed (Apache-2.0). One tag on a page:
 *   <script src="https://support.example.com/form/embed.js" data-site-key="…" async></script>
 * renders a form after it (or into data-target="#id"), or enhances every <form data-tr-form>. Posts JSON
 * with a nonce each; retries network errors and 5xx with backoff under the same nonce (never a second
 * ticket); a 409 (nonce taken) is sent once under a new one. Styled by CSS custom properties --tr-accent,
 * -accent-text, -border, -radius, -field-bg, -error, -ok, -gap, -max-width. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var siteKey = script.getAttribute("data-site-key") || "";
  var endpoint = script.getAttribute("data-endpoint") || new URL(".", script.src).href.replace(/\/$/, "");
  var thanks = script.getAttribute("data-success-text") || "Thanks — your message reached our support team. We'll reply by email.";
  var RETRIES = 6, MAX_DELAY = 10000, uid = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function style() {
    if (document.getElementById("tr-form-style")) return;
    var css = ".tr-form{font:inherit;color:inherit;display:grid;gap:var(--tr-gap,.75rem);max-width:var(--tr-max-width,32rem)}" +
      ".tr-form label{display:block;font-weight:600;margin-bottom:.25rem}" +
      ".tr-form input,.tr-form textarea{font:inherit;color:inherit;width:100%;box-sizing:border-box;padding:.5rem;" +
      "border:1px solid var(--tr-border,#767676);border-radius:var(--tr-radius,4px);background:var(--tr-field-bg,transparent)}" +
      ".tr-form [aria-invalid=true]{border-color:var(--tr-error,#b42318)}" +
      ".tr-form button{font:inherit;justify-self:start;padding:.5rem 1.25rem;border:0;border-radius:var(--tr-radius,4px);" +
      "background:var(--tr-accent,#1a56db);color:var(--tr-accent-text,#fff);cursor:pointer}" +
      ".tr-form button[disabled]{opacity:.6;cursor:wait}" +
      ".tr-form :focus-visible{outline:2px solid var(--tr-accent,#1a56db);outline-offset:2px}" +
      ".tr-form .tr-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" +
      ".tr-form .tr-status:empty{display:none}.tr-form .tr-status[data-kind=error]{color:var(--tr-error,#b42318)}" +
      ".tr-form .tr-status[data-kind=ok]{color:var(--tr-ok,#067647)}";
    document.head.appendChild(el("style", { id: "tr-form-style" }, css));
  }

  function field(form, label, attrs, multiline) {
    var id = "tr-" + attrs.name + "-" + uid;
    attrs.id = id;
    var wrap = el("div", { "class": "tr-field" });
    wrap.appendChild(el("label", { "for": id }, label));
    wrap.appendChild(el(multiline ? "textarea" : "input", attrs));
    form.appendChild(wrap);
  }

  function render(where, before) {
    uid += 1;
    var form = el("form", { "class": "tr-form", novalidate: "", "aria-label": "Contact support" });
    field(form, "Name", { name: "name", autocomplete: "name" });
    field(form, "Email", { name: "email", type: "email", autocomplete: "email", required: "" });
    field(form, "Subject", { name: "subject" });
    field(form, "How can we help?", { name: "message", rows: "5", required: "" }, true);
    form.appendChild(el("button", { type: "submit" }, "Send"));
    where.insertBefore(form, before || null);
    return form;
  }

  function enhance(form) {
    form.classList.add("tr-form");
    if (!form.elements.website) {
      var pot = el("div", { "class": "tr-hp", "aria-hidden": "true" });
      pot.appendChild(el("label", {}, "Leave this empty"));
      pot.firstChild.appendChild(el("input", { name: "website", tabindex: "-1", autocomplete: "off" }));
      form.insertBefore(pot, form.firstChild);
    }
    var status = form.querySelector(".tr-status");
    if (!status) {
      status = el("p", { "class": "tr-status", role: "status", "aria-live": "polite" });
      form.appendChild(status);
    }
    var button = form.querySelector("[type=submit]");
    var shown = Date.now(), key = nonce(), busy = false, used = false, renewed;

    function say(text, kind) {
      status.textContent = text;
      status.setAttribute("data-kind", kind);
    }

    function value(name) {
      var input = form.elements[name];
      return input ? input.value : "";
    }

    function finish(ok, text, fieldName) {
      busy = false;
      if (button) button.disabled = false;
      say(text, ok ? "ok" : "error");
      if (ok) {
        form.reset();
        key = nonce();
        shown = Date.now();
      } else if (fieldName && form.elements[fieldName]) {
        form.elements[fieldName].setAttribute("aria-invalid", "true");
        form.elements[fieldName].focus();
      }
    }

    function send(payload, attempt) {
      fetch(endpoint, {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(payload)
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          var error = body && body.error;
          if (res.ok) finish(true, thanks);
          else if (res.status === 409 && payload.nonce !== renewed) {
            renewed = key = payload.nonce = nonce();
            send(payload, attempt);
          } else if (res.status >= 500) later(payload, attempt, res.headers.get("retry-after"), error && error.message);
          else finish(false, (error && error.message) || "The form could not be sent (" + res.status + ").", error && error.field);
        });
      }, function () {
        // network error or CORS refusal? /check says
        fetch(endpoint + "/check", { mode: "cors", credentials: "omit" }).then(function (r) { return r.json(); }).then(function (c) {
          if (c && c.allowed === false) finish(false, "This form cannot be sent from this page: " + c.message + ".");
          else later(payload, attempt);
        }, function () { later(payload, attempt); });
      });
    }

    function later(payload, attempt, retryAfter, message) {
      if (attempt >= RETRIES) {
        finish(false, (message ? message + ". " : "") + "We could not reach support; please try again in a few minutes.");
        return;
      }
      var delay = Math.min(MAX_DELAY, retryAfter ? retryAfter * 1000 : 1000 * Math.pow(2, attempt));
      say("Still trying to reach support…", "busy");
      setTimeout(function () { send(payload, attempt + 1); }, delay * (0.8 + Math.random() * 0.4));
    }

    form.addEventListener("input", function (e) {
      e.target.removeAttribute("aria-invalid");
      // edited after a failure: a new message
      if (used) { key = nonce(); used = false; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      var missing = ["email", "message"].filter(function (n) { return form.elements[n] && !value(n).trim(); })[0];
      if (missing) return finish(false, "Please fill in your " + missing + ".", missing);
      busy = used = true;
      if (button) button.disabled = true;
      say("Sending…", "busy");
      send({
        site_key: siteKey, nonce: key, name: value("name"), email: value("email"), subject: value("subject"),
        message: value("message"), website: value("website"), page_url: location.href, referrer: document.referrer,
        fill_ms: Date.now() - shown
      }, 0);
    });
  }

  style();
  var existing = document.querySelectorAll("form[data-tr-form]");
  if (existing.length) {
    Array.prototype.forEach.call(existing, enhance);
  } else {
    var target = script.getAttribute("data-target");
    var host = target && document.querySelector(target);
    enhance(host ? render(host) : render(script.parentNode, script.nextSibling));
  }
})();
