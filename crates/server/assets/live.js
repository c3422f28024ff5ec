// PrintFarm's live dashboard client. No build step, no dependencies.
//
// - Opens /ws/dashboard, authenticates with the session token from get-session, follows
//   every printer of the farm (the page's data-farm), and writes printer reports into any
//   element with data-printer-id (cards, overview rows): state, progress, time left, layer,
//   temperatures, AMS colours, errors in words.
// - Reconnects with backoff. After a reconnect or a resync hint it fetches every
//   [data-fragment] element's URL again and swaps it in; a [data-fragment-on] element is
//   also refreshed (debounced) when one of its listed events comes (job_update,
//   printer_state: a printer changed state, hub_status).
// - Buttons with data-api call the JSON API (cookie session, the farm in X-Tenant-ID) and
//   put the API's error message in words next to them (the card's .action-out).
(function () {
  'use strict';

  var farm = document.body.dataset.farm;
  if (!farm) return;

  var LABELS = {
    idle: 'Idle', printing: 'Printing', paused: 'Paused', maintenance: 'In maintenance',
    offline: 'Offline', error: 'Error'
  };
  var liveState = document.getElementById('live-state');
  var announcer = document.getElementById('announcer');
  var loadedAt = Date.now();
  var reports = {};   // printer id -> newest report (merged)
  var states = {};    // printer id -> last state seen
  var socket = null;
  var attempt = 0;
  var connectedOnce = false;
  var pingTimer = null;
  var stopped = false;

  function signIn() {
    window.location.assign('/sign-in?next=' + encodeURIComponent(location.pathname + location.search));
  }

  function setLive(text, ok) {
    if (!liveState) return;
    liveState.textContent = text;
    liveState.dataset.ok = ok ? '1' : '0';
  }

  function announce(text) {
    if (!announcer) return;
    announcer.textContent = '';
    window.setTimeout(function () { announcer.textContent = text; }, 60);
  }

  // Words, as the server writes them (crates/server/src/web).
  function duration(seconds) {
    var minutes = Math.floor((Math.max(0, seconds) + 59) / 60);
    if (minutes === 0) return 'done';
    if (minutes === 1 && seconds < 60) return 'under a minute';
    if (minutes < 60) return minutes + ' min';
    var m = minutes % 60;
    return Math.floor(minutes / 60) + ' h ' + (m < 10 ? '0' : '') + m + ' min';
  }

  function temperature(now, target) {
    if (now == null) return null;
    if (target != null && target > 0) return Math.round(now) + ' / ' + Math.round(target) + ' °C';
    return Math.round(now) + ' °C';
  }

  function hex(colour) {
    if (!colour) return '';
    var h = String(colour).replace(/^#/, '');
    if (h.length === 8) h = h.slice(0, 6);
    return /^[0-9a-fA-F]{6}$/.test(h) ? '#' + h.toUpperCase() : '';
  }

  function slotLabel(slot) {
    var place = slot.slot === 254 ? 'External spool'
      : 'AMS ' + (Math.floor(slot.slot / 4) + 1) + ' · slot ' + (slot.slot % 4 + 1);
    var what = 'empty';
    if (slot.filament_type) {
      what = slot.filament_type + (slot.remaining != null && slot.remaining >= 0 ? ', ' + slot.remaining + ' %' : '');
    }
    return place + ': ' + what;
  }

  function field(root, name) { return root.querySelector('[data-field="' + name + '"]'); }

  function setText(root, name, text) {
    var el = field(root, name);
    if (el && text != null && el.textContent !== text) el.textContent = text;
  }

  var SVG = 'http://www.w3.org/2000/svg';
  function swatch(colour) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'swatch');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('aria-hidden', 'true');
    var rect = document.createElementNS(SVG, 'rect');
    if (colour) rect.setAttribute('fill', colour); else rect.setAttribute('class', 'swatch-none');
    svg.appendChild(rect);
    return svg;
  }

  // Writes a report into one element that shows the printer.
  function paint(el, s) {
    var state = el.dataset.maintenance === '1' ? 'maintenance' : (LABELS[s.status] ? s.status : 'error');
    if (el.dataset.state !== undefined && el.dataset.state !== state) el.dataset.state = state;
    setText(el, 'state-label', LABELS[state]);
    if (s.progress_percentage != null) {
      var bar = field(el, 'progress');
      if (bar) { bar.value = s.progress_percentage; bar.textContent = s.progress_percentage + ' %'; }
      setText(el, 'progress-text', s.progress_percentage + ' %');
    }
    if (s.remaining_time_seconds != null) setText(el, 'remaining', duration(s.remaining_time_seconds));
    if (s.current_layer != null) {
      setText(el, 'layer', s.total_layers ? s.current_layer + ' of ' + s.total_layers : String(s.current_layer));
    }
    var t = s.temperatures;
    if (t) {
      var nozzle = temperature(t.nozzle, t.nozzle_target);
      var bed = temperature(t.bed, t.bed_target);
      if (nozzle) setText(el, 'nozzle', nozzle);
      if (bed) setText(el, 'bed', bed);
    }
    var slots = field(el, 'slots');
    if (slots && s.filaments && s.filaments.length) {
      var key = JSON.stringify(s.filaments);
      if (slots.dataset.key !== key) {
        slots.dataset.key = key;
        slots.textContent = '';
        s.filaments.forEach(function (slot) {
          var li = document.createElement('li');
          li.appendChild(swatch(hex(slot.colour)));
          li.appendChild(document.createTextNode(slotLabel(slot)));
          slots.appendChild(li);
        });
      }
    }
    var error = field(el, 'error');
    if (error) {
      var words = s.error_message || (s.error_code ? 'The printer reports error ' + s.error_code + '.' : '');
      if (words) setText(el, 'error-text', words);
      error.hidden = !words && state !== 'error';
      if (!words && state !== 'error') setText(el, 'error-text', '');
    }
    el.querySelectorAll('button[data-when]').forEach(function (button) {
      var when = button.dataset.when;
      if (when) button.hidden = when.split(' ').indexOf(state) < 0;
    });
    return state;
  }

  function onReport(s) {
    var id = s.printer_id;
    var merged = Object.assign({}, reports[id] || {}, s);
    // A report without a field means the printer did not say; an offline printer says nothing new.
    reports[id] = merged;
    var name = null;
    var state = s.status;
    document.querySelectorAll('[data-printer-id="' + CSS.escape(id) + '"]').forEach(function (el) {
      state = paint(el, merged);
      var heading = el.querySelector('h2');
      name = name || (heading && heading.textContent);
    });
    var before = states[id];
    states[id] = state;
    if (before !== undefined && before !== state) {
      if (name) announce(name + ': ' + (LABELS[state] || state) + (merged.error_message ? '. ' + merged.error_message : ''));
      emit('printer_state');
    }
  }

  // Fragments: [data-fragment] elements are fetched again after a reconnect or resync, and
  // on the events their data-fragment-on lists.
  var timers = new Map();
  function emit(event) {
    document.querySelectorAll('[data-fragment-on]').forEach(function (el) {
      if (el.dataset.fragmentOn.split(' ').indexOf(event) >= 0) later(el);
    });
  }

  function later(el) {
    if (timers.has(el)) return;
    timers.set(el, window.setTimeout(function () { timers.delete(el); refresh(el); }, 800));
  }

  function fetchHtml(url) {
    return fetch(url, { credentials: 'same-origin', headers: { 'x-pf-fragment': '1', accept: 'text/html' } })
      .then(function (response) {
        if (response.status === 401) { signIn(); return null; }
        return response.ok ? response.text() : null;
      });
  }

  // Swaps new markup in, keeping keyboard focus on the same element: by its id, or a
  // card's button by the card and what the button does.
  function swap(replace) {
    var active = document.activeElement;
    var id = active && active.id;
    var card = active && active.closest && active.closest('[data-printer-id]');
    var key = active && active.dataset && active.dataset.do;
    replace();
    if (document.activeElement !== document.body && document.activeElement !== null) return;
    var again = id ? document.getElementById(id) : null;
    if (!again && card && key) {
      again = document.querySelector('[data-printer-id="' + CSS.escape(card.dataset.printerId) +
        '"] button[data-do="' + CSS.escape(key) + '"]:not([hidden])');
    }
    if (again) again.focus();
  }

  function repaint(root) {
    root.querySelectorAll('[data-printer-id]').forEach(function (el) {
      var s = reports[el.dataset.printerId];
      if (s) paint(el, s);
    });
  }

  function refresh(el) {
    return fetchHtml(el.dataset.fragment).then(function (html) {
      if (html == null) return;
      swap(function () { el.innerHTML = html; });
      repaint(el);
      localTimes(el);
    }).catch(function () { /* the next reconnect tries again */ });
  }

  function refreshAll() {
    document.querySelectorAll('[data-fragment]').forEach(refresh);
  }

  function refreshCard(id) {
    var card = document.getElementById('printer-' + id);
    if (!card) return Promise.resolve(null);
    return fetchHtml('/printers/' + encodeURIComponent(id) + '/card').then(function (html) {
      if (html == null) return null;
      var template = document.createElement('template');
      template.innerHTML = html.trim();
      var fresh = template.content.firstElementChild;
      if (!fresh) return null;
      swap(function () { card.replaceWith(fresh); });
      if (reports[id]) paint(fresh, reports[id]);
      return fresh;
    }).catch(function () { return null; });
  }

  // "in 1 h 05 min" gains the clock time in the reader's own time zone.
  function localTimes(root) {
    root.querySelectorAll('time[data-local-time]').forEach(function (el) {
      var at = new Date(el.getAttribute('datetime'));
      if (isNaN(at)) return;
      var clock = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      if (el.dataset.relative === undefined) el.dataset.relative = el.textContent;
      el.textContent = clock + ' (' + el.dataset.relative + ')';
    });
  }

  // The socket.
  function token() {
    return fetch('/api/v1/auth/get-session', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var session = body && body.data && body.data.session;
        return session ? session.token : null;
      });
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    if (stopped) return;
    setLive(connectedOnce ? 'Reconnecting…' : 'Connecting…', false);
    token().then(function (value) {
      if (!value) { signIn(); return; }
      var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/dashboard';
      socket = new WebSocket(url);
      socket.onopen = function () { send({ type: 'auth', token: value, tenant_id: farm }); };
      socket.onmessage = function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        onMessage(message);
      };
      socket.onclose = function () {
        window.clearInterval(pingTimer);
        socket = null;
        if (!stopped) retry();
      };
    }).catch(retry);
  }

  function retry() {
    setLive('Reconnecting…', false);
    // 1 s, 2 s, 4 s … up to 30 s, spread so that many browsers don't return at once.
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt = Math.min(attempt + 1, 5);
    window.setTimeout(connect, delay);
  }

  function onMessage(m) {
    switch (m.type) {
      case 'auth_success':
        attempt = 0;
        setLive('Live', true);
        send({ type: 'subscribe', printers: [] });
        // What changed while the socket was down (or since the page was drawn) comes back.
        if (connectedOnce || Date.now() - loadedAt > 2000) refreshAll();
        connectedOnce = true;
        pingTimer = window.setInterval(function () { send({ type: 'ping' }); }, 25000);
        break;
      case 'auth_error':
        stopped = true;
        setLive('Not live: ' + (m.message || 'the session was refused'), false);
        token().then(function (value) { if (!value) signIn(); });
        break;
      case 'printer_status':
        onReport(m);
        break;
      case 'job_update':
        if (m.printer_id && m.status && m.file_progress === undefined) refreshCard(m.printer_id);
        emit('job_update');
        break;
      case 'hub_status':
        emit('hub_status');
        break;
      case 'resync':
        // The server closes next; the reconnect fetches every fragment again.
        connectedOnce = true;
        break;
      default:
        break;
    }
  }

  // Buttons that call the API: data-api is a path after the closest data-api-base (or an
  // absolute path), with data-method and the JSON data-body; the answer goes in words to
  // the .action-out of the button's card.
  document.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-api]');
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    var path = button.dataset.api;
    var base = button.closest('[data-api-base]');
    var url = path.charAt(0) === '/' ? path : (base ? base.dataset.apiBase : '') + '/' + path;
    var card = button.closest('[data-printer-id]');
    var scope = card || button.parentElement;
    var out = scope.querySelector('.action-out');
    var key = button.dataset.do;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    if (out) { out.textContent = 'Sending…'; delete out.dataset.kind; }
    fetch(url, {
      method: button.dataset.method || 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-tenant-id': farm },
      body: button.dataset.body || '{}'
    }).then(function (response) {
      if (response.status === 401) { signIn(); return null; }
      return response.json().catch(function () { return null; }).then(function (body) {
        return { ok: response.ok && body && body.success !== false, status: response.status, body: body };
      });
    }).then(function (result) {
      if (!result) return;
      var words = result.ok ? 'Done: ' + button.textContent.trim().replace(/\s+/g, ' ') + '.'
        : (result.body && result.body.error && result.body.error.message) || 'The server answered ' + result.status + '.';
      var kind = result.ok ? 'ok' : 'error';
      // A change the socket does not carry (bed, maintenance): draw the card again.
      var after = result.ok && card ? refreshCard(card.dataset.printerId) : Promise.resolve(null);
      return after.then(function (fresh) {
        var target = fresh ? fresh.querySelector('.action-out') : out;
        if (target) { target.textContent = words; target.dataset.kind = kind; }
        if (fresh) {
          var again = key && fresh.querySelector('button[data-do="' + CSS.escape(key) + '"]:not([hidden])');
          var focus = again || fresh.querySelector('button[data-api]:not([hidden])');
          if (focus) focus.focus();
        }
      });
    }).catch(function (error) {
      if (out) { out.textContent = 'Could not reach the server: ' + error.message; out.dataset.kind = 'error'; }
    }).then(function () {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    });
  });

  localTimes(document);
  connect();
})();
