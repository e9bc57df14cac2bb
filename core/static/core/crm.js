/* Confirmation before destructive submits. The pages run under a Content-Security-Policy
   that blocks inline handlers, so confirmations that Flask-Admin writes inline
   (onclick="return faHelpers.safeConfirm('...')") and our data-confirm attributes are
   both handled here. */
(function () {
  'use strict';
  function confirmationFor(button, form) {
    var text = (button && button.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (text) { return text; }
    var inline = button && button.getAttribute('onclick');
    var match = inline && /safeConfirm\('((?:[^'\\]|\\.)*)'\)/.exec(inline);
    return match ? match[1].replace(/\\(.)/g, '$1') : null;
  }
  document.addEventListener('submit', function (event) {
    var text = confirmationFor(event.submitter, event.target);
    if (text && !window.confirm(text)) { event.preventDefault(); }
  }, true);
}());
