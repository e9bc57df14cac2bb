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

/* == Line editors ==========================================================================
   A table of priced lines (quotes, orders, and any later document with lines) becomes a
   line editor when its container carries data-line-editor. Its data attributes say:
     data-price-url        the screen's JSON look-up: ?product=ID&customer=ID&on=DATE gives
                           price (after the customer's price list), tax_rate, description,
                           currency, note (empty: no price list applied)
     data-customer-input, data-date-input, data-currency-input
                           selectors of the document's fields the look-up and totals read
     data-line-row         selector of one line's element (default "tr")
     data-line-product, -description, -quantity, -price, -discount, -tax-rate
                           the end of each input's name (lines-0-quantity: "quantity");
                           a role without an attribute is not on this form
     data-line-delete      selector of a line's "delete when saving" checkbox
     data-currency-note    text shown when the catalogue's currency is not the document's
                           ("{currency}" is replaced)
   and inside it: [data-line-note] (a line's note), [data-line-out=subtotal|tax|total] (a
   line's amounts), [data-lines-total=subtotal|tax|total|currency] (the document's).
   Amounts follow the rule every document with lines keeps on the server: per line, net = quantity x price x
   (100 - discount) / 100 rounded half-up to cents, tax = net x rate / 100 rounded
   half-up; the document's figures are the sums of its lines'. Worked out in exact
   integers (BigInt), never in floating point. The server works them out again on save,
   and its figures are the ones kept. */
(function () {
  'use strict';
  var ROLES = ['product', 'description', 'quantity', 'price', 'discount', 'taxRate'];

  // -- exact decimal arithmetic ----------------------------------------------------------
  // "1234.5" -> {n: 12345n, s: 1}; blank -> null; anything the server refuses as a
  // number ("1,234.5", "abc") -> NaN.
  function parse(text) {
    text = String(text == null ? '' : text).trim();
    if (text === '') { return null; }
    var match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
    if (!match || (match[2] + (match[3] || '')) === '') { return NaN; }
    var n = BigInt(match[2] + (match[3] || '') || '0');
    return {n: match[1] === '-' ? -n : n, s: (match[3] || '').length};
  }
  function pow10(s) { return BigInt('1' + '0'.repeat(s)); }
  function roundHalfUp(numerator, denominator) {   // ties away from zero, as ROUND_HALF_UP
    var negative = numerator < 0n;
    var a = negative ? -numerator : numerator;
    var q = (2n * a + denominator) / (2n * denominator);
    return negative ? -q : q;
  }
  // [net, tax, total] in cents (BigInt) of one line; the arguments as parse() gives them.
  function amounts(quantity, price, discount, rate) {
    var rest = {n: 100n * pow10(discount.s) - discount.n, s: discount.s};   // 100 - discount
    var net = roundHalfUp(quantity.n * price.n * rest.n * 100n,
                          pow10(quantity.s + price.s + rest.s) * 100n);
    var tax = roundHalfUp(net * rate.n, pow10(rate.s) * 100n);
    return [net, tax, net + tax];
  }
  function money(cents) {   // 123456n -> "1,234.56"
    var negative = cents < 0n;
    var digits = (negative ? -cents : cents).toString().padStart(3, '0');
    var whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (negative ? '-' : '') + whole + '.' + digits.slice(-2);
  }

  // -- one editor ---------------------------------------------------------------------------
  function LineEditor(box) {
    this.box = box;
    this.url = box.getAttribute('data-price-url');
    this.rowSelector = box.getAttribute('data-line-row') || 'tr';
    this.names = {};
    ROLES.forEach(function (role) {
      var attribute = 'data-line-' + role.replace(/[A-Z]/g, function (c) { return '-' + c.toLowerCase(); });
      this.names[role] = box.getAttribute(attribute);
    }, this);
    this.asked = 0;
  }

  LineEditor.prototype.outside = function (name) {   // a field of the document
    var selector = this.box.getAttribute('data-' + name + '-input');
    return selector ? document.querySelector(selector) : null;
  };

  LineEditor.prototype.input = function (row, role) {
    var suffix = this.names[role];
    if (!suffix) { return null; }
    var inputs = row.querySelectorAll('[name$="-' + suffix + '"]');
    for (var i = 0; i < inputs.length; i++) {   // the field itself, not select2's own inputs
      if (/^[\w-]+-\d+-/.test(inputs[i].name)) { return inputs[i]; }
    }
    return null;
  };

  LineEditor.prototype.rows = function () {
    return Array.prototype.slice.call(this.box.querySelectorAll(this.rowSelector));
  };

  LineEditor.prototype.value = function (row, role) {
    var input = this.input(row, role);
    return input ? input.value : '';
  };

  LineEditor.prototype.deleted = function (row) {
    var selector = this.box.getAttribute('data-line-delete');
    var box = selector && row.querySelector(selector);
    return Boolean(box && box.checked);
  };

  // A line's amounts, or null when it cannot be worked out yet (no price, a typo).
  LineEditor.prototype.lineAmounts = function (row) {
    var zero = {n: 0n, s: 0};   // a blank discount or rate
    var quantity = parse(this.value(row, 'quantity'));
    var price = parse(this.value(row, 'price'));
    var discount = parse(this.value(row, 'discount'));
    var rate = parse(this.value(row, 'taxRate'));
    if (!quantity || !price || Number.isNaN(discount) || Number.isNaN(rate)) { return null; }
    return amounts(quantity, price, discount || zero, rate || zero);
  };

  LineEditor.prototype.recompute = function () {
    var sums = [0n, 0n, 0n];
    var complete = true;
    this.rows().forEach(function (row) {
      var deleted = this.deleted(row);
      row.classList.toggle('crm-line-deleted', deleted);
      var figures = deleted ? null : this.lineAmounts(row);
      ['subtotal', 'tax', 'total'].forEach(function (name, index) {
        var out = row.querySelector('[data-line-out="' + name + '"]');
        if (out) { out.textContent = figures ? money(figures[index]) : '–'; }
      });
      if (figures) {
        sums = sums.map(function (sum, index) { return sum + figures[index]; });
      } else if (!deleted && (this.value(row, 'product') || this.value(row, 'price')
                              || this.value(row, 'description'))) {
        complete = false;   // a line that counts but cannot be worked out yet
      }
    }, this);
    var currency = this.outside('currency');
    var totals = {subtotal: money(sums[0]), tax: money(sums[1]), total: money(sums[2]),
                  currency: currency && currency.value ? '(' + currency.value.trim().toUpperCase() + ')' : ''};
    Object.keys(totals).forEach(function (name) {
      var out = this.box.querySelector('[data-lines-total="' + name + '"]');
      if (out) { out.textContent = totals[name]; }
    }, this);
    this.box.classList.toggle('crm-lines-incomplete', !complete);
  };

  // Fill a field from the look-up unless the user typed a value of their own there.
  // ``force``: the product was just changed by the user, its values replace the old
  // one's, unless the user typed into the field while the look-up ran (``before``: its
  // value when asked).
  function fill(input, value, force, before) {
    if (!input || value == null) { return; }
    var ours = input.getAttribute('data-line-filled');
    if ((force && input.value === before) || input.value === ''
        || (ours !== null && input.value === ours)) {
      input.value = value;
      input.setAttribute('data-line-filled', value);
    }
  }

  LineEditor.prototype.note = function (row, text) {
    var note = row.querySelector('[data-line-note]');
    if (note) { note.textContent = text || ''; }
  };

  // Ask what the row's product costs this customer on the document's date, and fill it in.
  LineEditor.prototype.price = function (row, force) {
    var product = this.value(row, 'product');
    if (!this.url || !product) { this.note(row, ''); return; }
    var query = new URLSearchParams({product: product});
    var customer = this.outside('customer');
    if (customer && customer.value) { query.set('customer', customer.value); }
    var day = this.outside('date');
    if (day && /^\d{4}-\d{2}-\d{2}/.test(day.value.trim())) { query.set('on', day.value.trim().slice(0, 10)); }
    var ticket = String(++this.asked);
    row.setAttribute('data-line-asked', ticket);   // only the latest answer counts
    var editor = this;
    var before = {price: this.value(row, 'price'), taxRate: this.value(row, 'taxRate')};
    fetch(this.url + (this.url.indexOf('?') < 0 ? '?' : '&') + query.toString(), {
      credentials: 'same-origin', headers: {Accept: 'application/json'}
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (found) {
      if (!found || row.getAttribute('data-line-asked') !== ticket
          || editor.value(row, 'product') !== product) { return; }
      var description = editor.input(row, 'description');
      if (description && description.value === (description.getAttribute('data-line-filled') || '')) {
        fill(description, found.description, true, description.value);
      }
      fill(editor.input(row, 'price'), found.price, force, before.price);
      fill(editor.input(row, 'taxRate'), found.tax_rate, force, before.taxRate);
      var notes = [];
      var price = editor.input(row, 'price');
      if (found.note && price && price.value === found.price) { notes.push(found.note); }
      var currency = editor.outside('currency');
      var template = editor.box.getAttribute('data-currency-note');
      if (template && currency && currency.value.trim()
          && currency.value.trim().toUpperCase() !== found.currency) {
        notes.push(template.replace('{currency}', found.currency));
      }
      editor.note(row, notes.join(' '));
      editor.recompute();
    }).catch(function () { /* offline: the server fills the price on save */ });
  };

  // The customer or the date changed: prices this editor filled in are asked again.
  LineEditor.prototype.reprice = function () {
    this.rows().forEach(function (row) {
      var price = this.input(row, 'price');
      if (price && (price.value === '' || price.value === price.getAttribute('data-line-filled'))) {
        this.price(row, false);
      }
    }, this);
  };

  LineEditor.prototype.isRole = function (element, role) {
    var suffix = this.names[role];
    return Boolean(suffix && element.name && element.name.slice(-suffix.length - 1) === '-' + suffix);
  };

  LineEditor.prototype.start = function () {
    var editor = this;
    var recompute = function () { editor.recompute(); };
    this.box.addEventListener('input', recompute);
    this.box.addEventListener('change', recompute);
    // Select2 (Flask-Admin's look-ups) reports a pick as a jQuery event only.
    var onProduct = function (event) {
      var target = event.target;
      if (!editor.isRole(target, 'product')) { return; }
      var row = target.closest(editor.rowSelector);
      if (row) { editor.price(row, true); }
      editor.recompute();
    };
    var listen = function (element, handler) {
      if (!element) { return; }
      if (window.jQuery) { window.jQuery(element).on('change', handler); } else { element.addEventListener('change', handler); }
    };
    listen(this.box, onProduct);
    listen(this.outside('customer'), function () { editor.reprice(); });
    listen(this.outside('date'), function () { editor.reprice(); });
    var currency = this.outside('currency');
    if (currency) { currency.addEventListener('input', recompute); }
    // Lines added or removed by the form's own buttons (the count only: the figures this
    // editor writes are changes too, and must not set it off again).
    var count = this.rows().length;
    new MutationObserver(function () {
      if (editor.rows().length !== count) { count = editor.rows().length; editor.recompute(); }
    }).observe(this.box, {childList: true, subtree: true});
    // Lines shown again after a refused save: a product without a price gets one.
    this.rows().forEach(function (row) {
      var price = this.input(row, 'price');
      if (this.value(row, 'product') && price && price.value === '') { this.price(row, false); }
    }, this);
    this.recompute();
  };

  window.crmLines = {
    // For tests and other scripts: the amounts of one line as text, by money.py's rules.
    amounts: function (quantity, price, discount, rate) {
      return amounts(parse(quantity), parse(price), parse(discount || '0'),
                     parse(rate || '0')).map(money);
    },
    start: function (box) { var editor = new LineEditor(box); editor.start(); return editor; }
  };

  function startAll() {
    document.querySelectorAll('[data-line-editor]').forEach(function (box) {
      if (!box.crmLineEditor) { box.crmLineEditor = window.crmLines.start(box); }
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', startAll);
  } else {
    startAll();
  }
}());

/* == Drop zones ============================================================================
   <label class="crm-dropzone"><input type="file" ...><ul class="crm-dropzone-files"></ul>
   </label>: the input covers the zone (crm.css), so a dropped file lands in it natively.
   Here: the zone lights up while files are dragged over it, and lists the names chosen. */
(function () {
  'use strict';

  function zoneOf(target) { return target.closest ? target.closest('.crm-dropzone') : null; }

  function sizeText(size) {
    var units = ['B', 'KB', 'MB', 'GB'];
    var index = 0;
    while (size >= 1024 && index < units.length - 1) { size /= 1024; index += 1; }
    return (index ? size.toFixed(1) : String(size)) + ' ' + units[index];
  }

  // data-max-bytes on the zone: the most the site takes in one upload; above it the
  // zone says so at once (data-too-large), rather than after sending it all.
  function listFiles(input) {
    var zone = zoneOf(input);
    var list = zone && zone.querySelector('.crm-dropzone-files');
    if (!list) { return; }
    list.textContent = '';
    var total = 0;
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement('li');
      var size = document.createElement('small');
      item.textContent = file.name;   // as text: a file name is never markup
      size.textContent = sizeText(file.size);
      item.appendChild(size);
      list.appendChild(item);
      total += file.size;
    });
    var limit = Number(zone.getAttribute('data-max-bytes') || 0);
    var tooLarge = limit > 0 && total > limit;
    zone.classList.toggle('crm-dropzone-too-large', tooLarge);
    input.setCustomValidity(tooLarge ? zone.getAttribute('data-too-large') || '' : '');
    if (tooLarge) {
      var warning = document.createElement('li');
      warning.className = 'text-danger';
      warning.textContent = zone.getAttribute('data-too-large');
      list.appendChild(warning);
    }
  }

  ['dragenter', 'dragover'].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event.target);
      if (zone) { zone.classList.add('crm-dropzone-over'); }
    });
  });
  ['dragleave', 'drop'].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event.target);
      if (zone) { zone.classList.remove('crm-dropzone-over'); }
    });
  });
  document.addEventListener('change', function (event) {
    if (event.target.type === 'file' && zoneOf(event.target)) { listFiles(event.target); }
  });
}());

/* The look-up boxes (Select2 3, under Flask-Admin's related-record fields) in the
   page's language: their words from #crm-lookup-texts, set as defaults before
   Flask-Admin's form.js makes the boxes (on DOM ready). */
(function () {
  'use strict';
  var element = document.getElementById('crm-lookup-texts');
  if (!element || !window.jQuery || !jQuery.fn.select2 || !jQuery.fn.select2.defaults) { return; }
  var texts;
  try { texts = JSON.parse(element.textContent); } catch (e) { return; }
  jQuery.extend(jQuery.fn.select2.defaults, {
    formatNoMatches: function () { return texts.no_matches; },
    formatSearching: function () { return texts.searching; },
    formatLoadMore: function () { return texts.load_more; },
    formatAjaxError: function () { return texts.failed; },
    formatInputTooShort: function (input, least) {
      return texts.too_short.replace('%d', String(least - input.length));
    }
  });
}());
