/* The pages run under a Content-Security-Policy that blocks inline event handlers.
   Flask-Admin writes a few of them (onclick="..."); this script carries out those few
   known forms itself (bulk actions, adding an inline line), and asks for confirmation
   before destructive submits (ours carry data-confirm). */
(function () {
  'use strict';

  function unquote(text) { return text.replace(/\\(.)/g, '$1'); }

  function confirmationFor(button, form) {
    var text = (button && button.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (text) { return text; }
    var inline = button && button.getAttribute('onclick');
    var match = inline && /safeConfirm\('((?:[^'\\]|\\.)*)'\)/.exec(inline);
    return match ? unquote(match[1]) : null;
  }

  document.addEventListener('submit', function (event) {
    var text = confirmationFor(event.submitter, event.target);
    if (text && !window.confirm(text)) { event.preventDefault(); }
  }, true);

  document.addEventListener('click', function (event) {
    var element = event.target.closest && event.target.closest('[onclick]');
    if (!element) { return; }
    var inline = element.getAttribute('onclick');
    var action = /^return modelActions\.execute\('((?:[^'\\]|\\.)*)'\);?$/.exec(inline);
    var addLine = /^faForm\.addInlineField\(this, '((?:[^'\\]|\\.)*)'\);?$/.exec(inline);
    if (action) {
      event.preventDefault();
      window.modelActions.execute(unquote(action[1]));
    } else if (addLine) {   // "Add ..." under a form's inline lines (price list items)
      event.preventDefault();
      window.faForm.addInlineField(element, unquote(addLine[1]));
    } else if (/^return false;?$/.test(inline)) {
      event.preventDefault();
    }
  });
}());
