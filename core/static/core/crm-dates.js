/* Date inputs (core/dates.py). Text boxes with data-role="crm-date" or "crm-datetime"
   take typing and pasting as they are: nothing here rewrites what is typed or set, on
   blur or ever. A picker opens on focus (Monday first, its words from the page's
   #crm-date-texts) and writes only when a day, the time, "Today"/"Now" or "Clear" is
   clicked. Flask-Admin's list filters ask its old picker for their date inputs by role
   ("datepicker", "datetimerangepicker"...): they get this one. No library, no network. */
(function () {
  'use strict';

  // data-role -> what the picker writes: a date, a date and time, or "date to date"
  // (Flask-Admin's "between" filters; a date-time filter reads a date as the whole day).
  var MODES = {
    'crm-date': 'date', 'crm-datetime': 'datetime',
    datepicker: 'date', datetimepicker: 'datetime',
    daterangepicker: 'range', datetimerangepicker: 'range'
  };
  var RANGE = ' to ';   // the separator Flask-Admin's filters read
  var DEFAULT_TIME = [9, 0];   // a day picked for an empty date-time: 09:00, as the calendar
  var texts = readTexts();
  var open = null;   // the open picker: {input, mode, popup, month: Date, rangeStart}
  var writing = false;   // the picker's own write, not typing

  function readTexts() {
    var english = {
      months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
               'September', 'October', 'November', 'December'],
      days: ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'],
      today: 'Today', now: 'Now', clear: 'Clear', close: 'Close',
      previous: 'Previous month', next: 'Next month', time: 'Time'
    };
    var element = document.getElementById('crm-date-texts');
    try { return element ? JSON.parse(element.textContent) : english; } catch (e) { return english; }
  }

  function modeOf(element) {
    if (!element || element.tagName !== 'INPUT' || element.readOnly || element.disabled) { return null; }
    return element.getAttribute('data-crm-picker') || MODES[element.getAttribute('data-role')] || null;
  }

  // -- reading and writing the text ---------------------------------------------------

  function pad(number, width) {
    var text = String(number);
    while (text.length < (width || 2)) { text = '0' + text; }
    return text;
  }

  function twoDigits(number) { return pad(number); }

  function isoDate(day) {
    return pad(day.getFullYear(), 4) + '-' + pad(day.getMonth() + 1) + '-' + pad(day.getDate());
  }

  function sameDay(one, other) {
    return !!one && !!other && isoDate(one) === isoDate(other);
  }

  // "2026-12-09", "2026-12-09 14:00", "2026-12-09T14:00:05": {day, hour, minute} or null.
  function parse(text) {
    var match = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text || '');
    if (!match) { return null; }
    var day = new Date(+match[1], +match[2] - 1, +match[3]);
    day.setFullYear(+match[1]);   // years below 100 too
    if (day.getMonth() !== +match[2] - 1 || day.getDate() !== +match[3]) { return null; }
    var hour = match[4] === undefined ? null : +match[4];
    var minute = match[5] === undefined ? null : +match[5];
    if (hour !== null && (hour > 23 || minute > 59)) { return null; }
    return {day: day, hour: hour, minute: minute};
  }

  function parseRange(text) {
    var parts = (text || '').split(RANGE);
    var start = parse(parts[0]);
    var end = parts.length === 2 ? parse(parts[1]) : null;
    return {start: start && start.day, end: end && end.day};
  }

  function write(input, text) {
    input.value = text;
    // As typing would: filters show their "Apply" button, forms see the change.
    writing = true;
    try {
      input.dispatchEvent(new Event('input', {bubbles: true}));
      input.dispatchEvent(new Event('change', {bubbles: true}));
    } finally {
      writing = false;
    }
  }

  function timeOf(picker) {
    var hour = picker.popup.querySelector('.crm-picker-hour');
    var minute = picker.popup.querySelector('.crm-picker-minute');
    return pad(+hour.value) + ':' + pad(+minute.value);
  }

  // -- the picker ---------------------------------------------------------------------

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) { made.className = className; }
    if (text !== undefined) { made.textContent = text; }
    return made;
  }

  function button(className, text, title) {
    var made = element('button', 'btn btn-sm ' + className, text);
    made.type = 'button';
    if (title) { made.title = title; made.setAttribute('aria-label', title); }
    return made;
  }

  function select(className, values, labels, chosen, title) {
    var made = element('select', 'custom-select custom-select-sm ' + className);
    made.setAttribute('aria-label', title);
    values.forEach(function (value, index) {
      var option = element('option', '', labels[index]);
      option.value = value;
      option.selected = value === chosen;
      made.appendChild(option);
    });
    return made;
  }

  function numbers(from, to) {
    var list = [];
    for (var number = from; number <= to; number += 1) { list.push(number); }
    return list;
  }

  function monthOf(day) { return new Date(day.getFullYear(), day.getMonth(), 1); }

  function openFor(input) {
    if (open && open.input === input) { render(open); return; }
    close();
    var mode = modeOf(input);
    var popup = element('div', 'crm-picker crm-picker-' + mode);
    popup.setAttribute('role', 'dialog');
    document.body.appendChild(popup);
    var shown = mode === 'range' ? parseRange(input.value).start : (parse(input.value) || {}).day;
    open = {input: input, mode: mode, popup: popup, month: monthOf(shown || new Date()),
            rangeStart: null};
    // Keep the focus (and the caret) in the text box, but let the selects open.
    popup.addEventListener('mousedown', function (event) {
      if (event.target.tagName !== 'SELECT' && event.target.tagName !== 'OPTION') {
        event.preventDefault();
      }
    });
    popup.addEventListener('click', clicked);
    popup.addEventListener('change', changed);
    render(open);
  }

  function close() {
    if (open) {
      open.popup.parentNode.removeChild(open.popup);
      open = null;
    }
  }

  function render(picker) {
    var input = picker.input;
    var value = parse(input.value);
    var range = picker.mode === 'range' ? parseRange(input.value) : null;
    var month = picker.month;
    var popup = picker.popup;
    popup.textContent = '';

    var head = element('div', 'crm-picker-head');
    var year = month.getFullYear();
    var years = numbers(Math.min(year, new Date().getFullYear()) - 100,
                        Math.max(year, new Date().getFullYear()) + 20);
    head.appendChild(button('crm-picker-previous', '\u2039', texts.previous));
    head.appendChild(select('crm-picker-month', numbers(0, 11), texts.months, month.getMonth(),
                            texts.months[month.getMonth()]));
    head.appendChild(select('crm-picker-year', years, years.map(String), year, String(year)));
    head.appendChild(button('crm-picker-next', '\u203a', texts.next));
    popup.appendChild(head);

    var table = element('table', 'crm-picker-days');
    var row = element('tr');
    texts.days.forEach(function (name) { row.appendChild(element('th', '', name)); });
    table.appendChild(element('thead')).appendChild(row);
    var body = table.appendChild(element('tbody'));
    // Monday first: back from the 1st to its Monday (getDay: Sunday 0 ... Saturday 6).
    var day = new Date(month.getTime());
    day.setDate(1 - (month.getDay() + 6) % 7);
    var today = new Date();
    for (var week = 0; week < 6; week += 1) {
      row = body.appendChild(element('tr'));
      for (var weekday = 0; weekday < 7; weekday += 1) {
        var cell = button('crm-picker-day', String(day.getDate()));
        cell.setAttribute('data-day', isoDate(day));
        if (day.getMonth() !== month.getMonth()) { cell.className += ' crm-picker-other'; }
        if (sameDay(day, today)) { cell.className += ' crm-picker-today'; }
        if (range ? inRange(day, range, picker.rangeStart) : value && sameDay(day, value.day)) {
          cell.className += ' crm-picker-selected';
        }
        row.appendChild(element('td')).appendChild(cell);
        day.setDate(day.getDate() + 1);
      }
    }
    popup.appendChild(table);

    if (picker.mode === 'datetime') {
      var time = element('div', 'crm-picker-time');
      var hour = value && value.hour !== null ? value.hour : DEFAULT_TIME[0];
      var minute = value && value.minute !== null ? value.minute : DEFAULT_TIME[1];
      time.appendChild(element('span', 'crm-picker-time-label', texts.time));
      time.appendChild(select('crm-picker-hour', numbers(0, 23), numbers(0, 23).map(twoDigits),
                              hour, texts.time));
      time.appendChild(element('span', '', ':'));
      time.appendChild(select('crm-picker-minute', numbers(0, 59), numbers(0, 59).map(twoDigits),
                              minute, texts.time));
      popup.appendChild(time);
    }

    var foot = element('div', 'crm-picker-foot');
    foot.appendChild(button('btn-link crm-picker-now', picker.mode === 'datetime' ? texts.now : texts.today));
    foot.appendChild(button('btn-link crm-picker-clear', texts.clear));
    foot.appendChild(button('btn-secondary crm-picker-close', texts.close));
    popup.appendChild(foot);
    place(picker);
  }

  function inRange(day, range, rangeStart) {
    if (rangeStart) { return sameDay(day, rangeStart); }
    if (!range.start) { return false; }
    var end = range.end || range.start;
    return isoDate(day) >= isoDate(range.start) && isoDate(day) <= isoDate(end);
  }

  // Below the box; above it when there is no room below but room above.
  function place(picker) {
    var box = picker.input.getBoundingClientRect();
    var popup = picker.popup;
    var height = popup.offsetHeight;
    var top = box.bottom + 2;
    if (top + height > window.innerHeight && box.top - height - 2 > 0) { top = box.top - height - 2; }
    var left = Math.max(0, Math.min(box.left, document.documentElement.clientWidth - popup.offsetWidth));
    popup.style.top = (top + window.pageYOffset) + 'px';
    popup.style.left = (left + window.pageXOffset) + 'px';
  }

  function clicked(event) {
    var target = event.target.closest('button');
    var picker = open;
    if (!target || !picker) { return; }
    var input = picker.input;
    if (target.classList.contains('crm-picker-previous') || target.classList.contains('crm-picker-next')) {
      var step = target.classList.contains('crm-picker-next') ? 1 : -1;
      picker.month = new Date(picker.month.getFullYear(), picker.month.getMonth() + step, 1);
      render(picker);
    } else if (target.classList.contains('crm-picker-day')) {
      pickDay(picker, target.getAttribute('data-day'));
    } else if (target.classList.contains('crm-picker-now')) {
      var now = new Date();
      var text = isoDate(now);
      if (picker.mode === 'datetime') { text += ' ' + pad(now.getHours()) + ':' + pad(now.getMinutes()); }
      if (picker.mode === 'range') { text += RANGE + text; }
      write(input, text);
      close();
    } else if (target.classList.contains('crm-picker-clear')) {
      write(input, '');
      close();
    } else if (target.classList.contains('crm-picker-close')) {
      close();
    }
  }

  function pickDay(picker, day) {
    var input = picker.input;
    if (picker.mode === 'date') {
      write(input, day);
      close();
    } else if (picker.mode === 'datetime') {
      // The picker stays open for the time; the text is whole at every step.
      write(input, day + ' ' + timeOf(picker));
      render(picker);
    } else if (!picker.rangeStart) {   // a range: its first day, then its last
      picker.rangeStart = parse(day).day;
      write(input, day + RANGE + day);
      render(picker);
    } else {
      var first = isoDate(picker.rangeStart);
      write(input, first <= day ? first + RANGE + day : day + RANGE + first);
      close();
    }
  }

  function changed(event) {
    var picker = open;
    var target = event.target;
    if (!picker) { return; }
    if (target.classList.contains('crm-picker-month') || target.classList.contains('crm-picker-year')) {
      var month = picker.popup.querySelector('.crm-picker-month');
      var year = picker.popup.querySelector('.crm-picker-year');
      picker.month = new Date(+year.value, +month.value, 1);
      picker.month.setFullYear(+year.value);
      render(picker);
    } else if (target.classList.contains('crm-picker-hour') || target.classList.contains('crm-picker-minute')) {
      var value = parse(picker.input.value);   // a time without a day waits for the day
      if (value) { write(picker.input, isoDate(value.day) + ' ' + timeOf(picker)); }
    }
    picker.input.focus();
  }

  // -- when it opens and closes -------------------------------------------------------

  document.addEventListener('focusin', function (event) {
    if (modeOf(event.target)) {
      openFor(event.target);
    } else if (open && !open.popup.contains(event.target)) {
      close();
    }
  });

  document.addEventListener('mousedown', function (event) {
    if (open && event.target !== open.input && !open.popup.contains(event.target)) { close(); }
  });

  document.addEventListener('click', function (event) {   // reopen after Escape or a pick
    if (modeOf(event.target) && !open) { openFor(event.target); }
  });

  document.addEventListener('keydown', function (event) {
    if (!modeOf(event.target)) { return; }
    if (event.key === 'Escape' && open) {
      event.preventDefault();
      close();
    } else if (event.key === 'ArrowDown' && !open) {
      event.preventDefault();
      openFor(event.target);
    } else if (event.key === 'Tab' || event.key === 'Enter') {
      close();
    }
  });

  // Typing and pasting: the picker follows the text, never the other way round.
  document.addEventListener('input', function (event) {
    if (writing || !open || event.target !== open.input) { return; }
    var shown = open.mode === 'range' ? parseRange(open.input.value).start : (parse(open.input.value) || {}).day;
    if (shown) { open.month = monthOf(shown); }
    open.rangeStart = null;
    render(open);
  });

  window.addEventListener('resize', close);

  // Flask-Admin's form script styles inputs by role (its date picker included) on pages
  // with forms or filters; it announces itself with "adminFormReady" (twice on lists).
  if (window.jQuery) {
    window.jQuery(document).on('adminFormReady', function () {
      var form = window.faForm;
      if (!form || form.crmDates) { return; }
      form.crmDates = true;
      form.addFieldConverter(function ($input, role) {
        var mode = MODES[role];
        if (!mode) { return false; }
        $input.attr('data-crm-picker', mode).attr('autocomplete', 'off');
        if (mode !== 'range' && !$input.attr('placeholder')) {
          $input.attr('placeholder', mode === 'datetime' ? 'YYYY-MM-DD HH:MM' : 'YYYY-MM-DD');
        }
        return true;   // and not Flask-Admin's daterangepicker
      });
    });
  }
}());
