/*
 * Gatehouse's WebAuthn glue, loaded (with the page's CSP nonce) after @simplewebauthn/browser's bundle.
 * [data-webauthn="signin"]: a passkey sign-in (login page, also as browser autofill) or a security key as
 * the second factor (mfa page). [data-webauthn="register"]: adds a security key or passkey (account page).
 * Every request is a same-origin form post carrying the page's CSRF token; answers are JSON.
 */
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  // the page's translations (partials/webauthn-scripts.ejs), English where a page has none
  var words = {};
  try { words = JSON.parse((document.getElementById('webauthn-messages') || {}).textContent || '{}'); } catch (e) { words = {}; }
  function say(key, english) { return typeof words[key] === 'string' ? words[key] : english; }

  // The answer's error_description is English (the JSON of every refusal is): an English page shows it,
  // a page in another language says its own words, chosen by the status and the error code.
  function refusal(status, body) {
    if (document.documentElement.lang === 'en' && body.error_description) return body.error_description;
    if (status === 429) return say('tooMany', 'Too many attempts. Wait a few minutes and try again.');
    if (body.error === 'access_denied') return say('refused', 'That security key or passkey was not accepted. Use one registered to your account, or sign in another way.');
    return say('failed', 'Something went wrong. Reload the page and try again.');
  }

  function post(url, fields) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(fields),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) throw new Error(refusal(res.status, body));
        return body;
      });
    });
  }

  function explain(err) {
    if (err && (err.name === 'NotAllowedError' || err.name === 'AbortError')) return say('cancelled', 'The request was cancelled or timed out. Try again.');
    if (err && err.name === 'InvalidStateError') return say('registered', 'This security key or passkey is already registered to your account.');
    return (err && err.message) || say('generic', 'Something went wrong. Try again.');
  }

  function showError(box, message) {
    var el = box.querySelector('[data-webauthn-error]');
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
  }

  function signIn(box, autofill) {
    var csrf = box.getAttribute('data-csrf');
    return post(box.getAttribute('data-options-url'), { _csrf: csrf })
      .then(function (options) { return lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill }); })
      .then(function (credential) { return post(box.getAttribute('data-verify-url'), { _csrf: csrf, credential: JSON.stringify(credential) }); })
      .then(function (done) { window.location.assign(done.redirect); });
  }

  document.querySelectorAll('[data-webauthn="signin"]').forEach(function (box) {
    box.hidden = false;
    var button = box.querySelector('[data-webauthn-start]');
    button.addEventListener('click', function () {
      button.disabled = true;
      signIn(box, false).catch(function (err) { showError(box, explain(err)); button.disabled = false; });
    });
    // passkeys offered in the username field's autofill, where the browser supports it (conditional mediation)
    if (box.getAttribute('data-autofill') === 'true') {
      lib.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (supported) signIn(box, true).catch(function (err) {
          // SecurityError: this origin cannot use WebAuthn at all (e.g. an IP-address host): offer no passkeys
          if (err && err.name === 'SecurityError') { box.hidden = true; return; }
          if (err && err.name !== 'AbortError') showError(box, explain(err));
        });
      });
    }
  });

  // the link page: a passkey of the matched account proves it; the assertion goes in the form, which posts like the password form
  document.querySelectorAll('form[data-webauthn="link"]').forEach(function (form) {
    form.hidden = false;
    var button = form.querySelector('[data-webauthn-start]');
    button.addEventListener('click', function () {
      button.disabled = true;
      var fields = { _csrf: form.querySelector('input[name="_csrf"]').value, link: form.querySelector('input[name="link"]').value };
      post(form.getAttribute('data-options-url'), fields)
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options }); })
        .then(function (credential) {
          form.querySelector('input[name="credential"]').value = JSON.stringify(credential);
          form.submit();
        })
        .catch(function (err) { showError(form, explain(err)); button.disabled = false; });
    });
  });

  document.querySelectorAll('form[data-webauthn="register"]').forEach(function (form) {
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var csrf = form.getAttribute('data-csrf');
      var name = form.querySelector('input[name="name"]').value;
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      post(form.getAttribute('data-options-url'), { _csrf: csrf })
        .then(function (options) { return lib.startRegistration({ optionsJSON: options }); })
        .then(function (credential) { return post(form.getAttribute('data-verify-url'), { _csrf: csrf, name: name, credential: JSON.stringify(credential) }); })
        .then(function (done) { window.location.assign(done.redirect); })
        .catch(function (err) { showError(form, explain(err)); button.disabled = false; });
    });
  });
})();
