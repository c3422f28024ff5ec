// PrintFarm's live dashboard client. No build step, no dependencies.
//
// - Opens /ws/dashboard, authenticates with the session token from get-session, follows
//   every printer of the farm (the page's data-farm), and writes printer reports into any
//   element with data-printer-id (cards, overview rows): state, progress, time left, layer,
//   temperatures, AMS colours, errors in words. The printers page's compact view
//   (#printer-tiles-box) has its own, cheaper path for hundreds of tiles (see "Tiles").
// - Reconnects with backoff. After a reconnect or a resync hint it fetches every
//   [data-fragment] element's URL again and swaps it in; a [data-fragment-on] element is
//   also refreshed (debounced) when one of its listed events comes (job_update,
//   printer_state: a printer changed state, hub_status).
// - An inventory_alert marks the rows of its SKU ([data-sku-id]) low at once (data-low="1").
// - A new_order is said, and shown in #order-news on the orders page.
// - A task_updated refreshes the worklist (its [data-fragment-on] lists it).
// - Buttons with data-api call the JSON API (cookie session, the farm in X-Tenant-ID) and
//   put the API's error message in words next to them (the card's .action-out).
// - Forms with data-api send JSON (or multipart, with upload progress) to the API and show
//   its field errors next to the fields (dotted names nest); [data-reorder] lists save a
//   dragged order.
// - A [data-camera] figure shows a picture from that URL, taken again every few seconds
//   while the page is visible (never while hidden: each picture is a trip to the printer).
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
  var pongDue = null;
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

  // Reports are merged as they come and drawn in batches, at most once a second
  // (and not at all while the tab is hidden): a farm of 100 printers sends 100 reports a
  // second, and drawing each at once made the browser lay the page out for every one.
  var dirty = new Set();
  var drawTimer = null;
  var DRAW_EVERY_MS = 1000;

  // Messages name a printer by the farm's number (printer_id, as the original client
  // reads it) and by its id (printer_uuid), which this page's elements carry.
  function printerOf(m) { return m.printer_uuid || m.printer_id; }

  function onReport(s) {
    var id = printerOf(s);
    // A report without a field means the printer did not say; keep what it said before.
    reports[id] = Object.assign(reports[id] || {}, s);
    dirty.add(id);
    if (drawTimer === null && !document.hidden) drawTimer = window.setTimeout(draw, DRAW_EVERY_MS);
  }

  function draw() {
    drawTimer = null;
    var ids = Array.from(dirty);
    dirty.clear();
    // The batch's writes land in one frame, so the browser lays the page out once for it.
    window.requestAnimationFrame(function () {
      ids.forEach(drawPrinter);
      tilesDrawn();
    });
  }

  function drawPrinter(id) {
    var merged = reports[id];
    var name = null;
    var state = merged.status;
    var tile = tiles.get(id);
    if (tile) state = paintTile(tile, merged);
    // A page without cards or rows (the compact view) skips a look-up per report.
    if (hasPrinterElements) {
      document.querySelectorAll('[data-printer-id="' + CSS.escape(id) + '"]').forEach(function (el) {
        state = paint(el, merged);
        var heading = el.querySelector('h2');
        name = name || (heading && heading.textContent);
      });
    }
    var before = states[id];
    states[id] = state;
    if (before !== undefined && before !== state) {
      if (name) announce(name + ': ' + (LABELS[state] || state) + (merged.error_message ? '. ' + merged.error_message : ''));
      emit('printer_state');
    }
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && dirty.size && drawTimer === null) draw();
  });

  // Tiles: the compact view of the printers page shows hundreds of printers (500 reporting
  // every second), so it does less per report than the cards. Each tile's elements are
  // found once, when the server's tiles are put in, and kept by printer id: a report is a
  // Map look-up, not a querySelector. A tile keeps what it last wrote, and only a changed
  // text or attribute is written, in the frame of its batch (see draw).
  //
  // The filter's states (data-states on #printer-tiles-box) hold live. The server sends
  // every printer its model and hub filter take and hides those in other states, so a
  // printer whose state moves into the filter appears in its place (display order) and
  // one that moves out goes, as a reload would show them; the count says how many are
  // shown, and the line after it (also said to screen readers) which printers came or went.
  var tileBox = document.getElementById('printer-tiles-box');
  var tiles = new Map();
  var tileStates = [];
  var tileCount = null;
  var tileNews = null;
  var tilesShown = 0;
  var tilesInFarm = 0;
  var tileMoves = [];
  var hasPrinterElements = true;
  var TILE_LABELS = { maintenance: 'Maintenance' };   // as the server's tile_label
  var HOLDS_PRINTER = ['processing', 'uploaded', 'printing', 'paused'];

  function indexTiles() {
    hasPrinterElements = document.querySelector('[data-printer-id]') !== null;
    tiles = new Map();
    if (!tileBox) return;
    tileStates = (tileBox.dataset.states || '').split(' ').filter(Boolean);
    var list = tileBox.querySelector('[data-in-farm]');
    tileCount = document.getElementById('tiles-count');
    tileNews = document.getElementById('tiles-news');
    tilesInFarm = list ? Number(list.dataset.inFarm) : 0;
    tilesShown = 0;
    tileBox.querySelectorAll('[data-tile]').forEach(function (el) {
      var f = {};
      el.querySelectorAll('[data-f]').forEach(function (part) { f[part.dataset.f] = part; });
      if (!el.hidden) tilesShown++;
      var name = el.querySelector('.ptile-name');
      tiles.set(el.dataset.tile, {
        el: el, f: f, name: name ? name.textContent : '',
        state: el.dataset.state, maintenance: el.dataset.maintenance === '1', job: el.dataset.job || '',
        pct: f.pct.textContent, left: f.left.textContent, error: f['error-text'].textContent,
        badge: !f.error.hidden
      });
    });
  }

  // Writes a report into a tile; returns the state it shows.
  function paintTile(t, s) {
    var state = t.maintenance ? 'maintenance' : (LABELS[s.status] ? s.status : 'error');
    if (t.state !== state) {
      t.state = state;
      t.el.dataset.state = state;
      t.f.state.textContent = TILE_LABELS[state] || LABELS[state];
      var shown = !tileStates.length || tileStates.indexOf(state) >= 0;
      if (t.el.hidden === shown) {
        t.el.hidden = !shown;
        tilesShown += shown ? 1 : -1;
        tileMoves.push(t.name + (shown ? ' came in: ' : ' went: ') + LABELS[state]);
      }
    }
    if (s.progress_percentage != null) {
      var pct = s.progress_percentage + ' %';
      if (t.pct !== pct) { t.pct = pct; t.f.pct.textContent = pct; t.f.bar.value = s.progress_percentage; }
    }
    if (s.remaining_time_seconds != null) {
      var left = duration(s.remaining_time_seconds);
      if (t.left !== left) { t.left = left; t.f.left.textContent = left; }
    }
    var words = s.error_message || (s.error_code ? 'The printer reports error ' + s.error_code + '.' : '');
    if (t.error !== words) {
      t.error = words;
      t.f['error-text'].textContent = words;
      t.f.error.title = words || 'Error';
    }
    var badge = !!words || state === 'error';
    if (t.badge !== badge) { t.badge = badge; t.f.error.hidden = !badge; }
    return state;
  }

  // The count in words, as the server writes it (Tiles::count_words).
  function countTiles() {
    if (!tileCount) return;
    var words = tilesShown + ' of ' + tiles.size + ' printers shown' +
      (tilesInFarm !== tiles.size ? ' (' + tilesInFarm + ' in the farm)' : '');
    if (tileCount.textContent !== words) tileCount.textContent = words;
  }

  // After a batch: the count, and which printers came into or went out of the filter.
  function tilesDrawn() {
    if (!tileMoves.length) return;
    countTiles();
    var words = tileMoves.length <= 3 ? tileMoves.join('; ') + '.'
      : tileMoves.length + ' printers came in or went as their state changed.';
    tileMoves = [];
    if (tileNews) tileNews.textContent = words;
    announce(words);
  }

  // A job that starts or ends on a printer changes its tile's picture: the tiles are
  // fetched again (once for a burst). Progress of the same job changes nothing.
  function jobOnTile(m) {
    var id = printerOf(m);
    var t = id && m.file_progress === undefined ? tiles.get(id) : null;
    if (!t) return;
    var holding = HOLDS_PRINTER.indexOf(m.status) >= 0 ? m.job_id : '';
    if (holding !== t.job && (holding || t.job === m.job_id)) later(tileBox);
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
    indexTiles();
    root.querySelectorAll('[data-printer-id]').forEach(function (el) {
      var s = reports[el.dataset.printerId];
      if (s) paint(el, s);
    });
    if (root.contains(tileBox)) {
      tiles.forEach(function (t, id) { if (reports[id]) paintTile(t, reports[id]); });
      tileMoves = [];
      countTiles();
    }
  }

  // A form being filled in inside a fragment (an add-printer form in the hub list) is
  // not wiped by a refresh: the refresh waits until the form is sent, or left alone for a
  // minute.
  document.addEventListener('input', function (event) {
    var form = event.target.form;
    if (form && form.closest('[data-fragment]')) form.dataset.dirty = String(Date.now());
  });

  function busy(el) {
    var active = document.activeElement;
    if (el.contains(active) && active.matches('input, select, textarea')) return true;
    return Array.prototype.some.call(el.querySelectorAll('form[data-dirty]'), function (form) {
      return Date.now() - Number(form.dataset.dirty) < 60000;
    });
  }

  function refresh(el) {
    if (busy(el)) {
      timers.set(el, window.setTimeout(function () { timers.delete(el); refresh(el); }, 3000));
      return Promise.resolve();
    }
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
      // Another redraw may have replaced the card meanwhile: replace the one shown now, and
      // keep the answer to the last button press it shows.
      var current = document.getElementById('printer-' + id);
      if (!current) return null;
      card = current;
      var said = card.querySelector('.action-out');
      var keep = fresh.querySelector('.action-out');
      if (said && keep && said.textContent) { keep.textContent = said.textContent; if (said.dataset.kind) keep.dataset.kind = said.dataset.kind; }
      swap(function () { card.replaceWith(fresh); });
      hasPrinterElements = true;
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
        window.clearTimeout(pongDue);
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        onMessage(message);
      };
      socket.onclose = function () {
        window.clearInterval(pingTimer);
        window.clearTimeout(pongDue);
        socket = null;
        if (!stopped) retry();
      };
    }).catch(retry);
  }

  var retryTimer = null;
  function retry() {
    setLive('Reconnecting…', false);
    // 1 s, 2 s, 4 s … up to 30 s, spread so that many browsers don't return at once.
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt = Math.min(attempt + 1, 5);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(function () { retryTimer = null; connect(); }, delay);
  }

  // Back on the network, or back to the tab: try at once instead of waiting out the backoff.
  function soonerThanLater() {
    if (retryTimer === null || stopped) return;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    connect();
  }
  window.addEventListener('online', soonerThanLater);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) soonerThanLater(); });

  function onMessage(m) {
    switch (m.type) {
      case 'auth_success':
        attempt = 0;
        setLive('Live', true);
        send({ type: 'subscribe', printers: [] });
        // What changed while the socket was down (or since the page was drawn) comes back.
        if (connectedOnce || Date.now() - loadedAt > 2000) refreshAll();
        connectedOnce = true;
        // A network that drops without closing the socket (Wi-Fi, a sleeping laptop) is
        // found by the ping: no answer within 10 s closes the socket, and we reconnect.
        pingTimer = window.setInterval(function () {
          send({ type: 'ping' });
          window.clearTimeout(pongDue);
          pongDue = window.setTimeout(function () { if (socket) socket.close(); }, 10000);
        }, 25000);
        break;
      case 'auth_error':
        stopped = true;
        setLive('Not live: ' + (m.error || m.message || 'the session was refused'), false);
        token().then(function (value) { if (!value) signIn(); });
        break;
      case 'printer_status':
        onReport(m);
        break;
      case 'job_update':
        if (printerOf(m) && m.status && m.file_progress === undefined) refreshCard(printerOf(m));
        jobOnTile(m);
        emit('job_update');
        break;
      case 'hub_status':
        emit('hub_status');
        break;
      case 'printer_updated':
        // A change of the farm's record (bed cleared, maintenance, name …): redraw that
        // card; a printer added, removed or moved redraws the lists that show them all.
        if (printerOf(m) && m.change !== 'created' && m.change !== 'deleted' && document.getElementById('printer-' + printerOf(m))) {
          refreshCard(printerOf(m));
        } else {
          emit('printer_list');
        }
        emit('printer_updated');
        break;
      case 'printer_discovered':
        emit('printer_discovered');
        break;
      case 'farm_updated':
        emit('farm_updated');
        break;
      case 'inventory_alert':
        markLow(m);
        emit('inventory_alert');
        break;
      case 'material_alert':
        emit('material_alert');
        break;
      case 'new_order':
        newOrder(m);
        emit('new_order');
        break;
      case 'task_updated':
        // A task appeared or moved: the worklist's cards are fetched again.
        emit('task_updated');
        break;
      case 'resync':
        // The server closes next; the reconnect fetches every fragment again.
        connectedOnce = true;
        break;
      default:
        break;
    }
  }

  // A new order arrived: said once, and shown on the orders page (its list refreshes).
  function newOrder(m) {
    var words = 'New order ' + m.order_number + ' from ' + m.platform + ': ' + m.total_items + ' unit' + (m.total_items === 1 ? '' : 's') + '.';
    var news = document.getElementById('order-news');
    if (news) { news.textContent = words; news.hidden = false; }
    announce(words);
  }

  // A SKU fell to its threshold: every row showing it (the stock page, the catalogue) is
  // marked low with the stock the alert gives, and the news is said once.
  function markLow(m) {
    var rows = document.querySelectorAll('[data-sku-id="' + CSS.escape(m.sku_id) + '"]');
    rows.forEach(function (row) {
      row.dataset.low = '1';
      setText(row, 'available', String(m.current_stock));
      setText(row, 'stock', String(m.current_stock));
      setText(row, 'stock-state', m.current_stock > 0 ? 'Low' : 'Out of stock');
    });
    if (!rows.length) return;
    var words = m.sku + ' is low: ' + m.current_stock + ' left, low at or below ' + m.threshold + '.';
    var news = document.getElementById('stock-news');
    if (news) { news.textContent = words; news.hidden = false; }
    announce(words);
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
      // data-then="/path": where to go once it is done (after removing what the page showed).
      if (result.ok && button.dataset.then && button.dataset.then.charAt(0) === '/') {
        window.location.assign(button.dataset.then);
        return;
      }
      var words = result.ok ? 'Done: ' + button.textContent.trim().replace(/\s+/g, ' ') + '.'
        : (result.body && result.body.error && result.body.error.message) || 'The server answered ' + result.status + '.';
      var kind = result.ok ? 'ok' : 'error';
      // A change the socket does not carry (bed, maintenance): draw the card again.
      var after = result.ok && card ? refreshCard(card.dataset.printerId) : Promise.resolve(null);
      // Elsewhere (a job's row, a hub): the page's fragments show the change.
      if (result.ok && !card) refreshAll();
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


  // API forms: <form data-api="/api/v1/…" data-method="POST"> sends its fields as JSON
  // (a multipart form, e.g. a file upload, is sent as it is, with a progress bar). Field
  // types come from the input: number inputs send numbers, checkboxes booleans, and
  // data-json="list" splits on commas; empty optional fields are left out. The API's
  // field errors go next to their fields, anything else to the form's .action-out. On
  // success data-then says what follows: "refresh" (every fragment on the page, the
  // default), "reload", or a path, where {id} is the new thing's id.
  function fieldValue(input) {
    if (input.type === 'checkbox') return input.checked;
    var v = input.value;
    // An edit form (data-empty="send") sends an emptied text field, so it can be cleared.
    if (v === '') return input.form && input.form.dataset.empty === 'send' && input.type !== 'number' && !input.dataset.json ? '' : undefined;
    if (input.type === 'number') return Number(v);
    if (input.dataset.json === 'list') return v.split(',').map(function (x) { return x.trim(); }).filter(Boolean);
    if (input.dataset.json === 'number') return Number(v);
    if (input.dataset.json === 'bool') return v === 'true';
    return v;
  }

  // A dotted name nests: "action_config.title" fills body.action_config.title, and a
  // number segment makes a list ("trigger_conditions.0.field").
  function setPath(body, name, v) {
    var keys = name.split('.');
    var at = body;
    for (var i = 0; i < keys.length - 1; i++) {
      if (at[keys[i]] == null) at[keys[i]] = /^\d+$/.test(keys[i + 1]) ? [] : {};
      at = at[keys[i]];
    }
    at[keys[keys.length - 1]] = v;
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.disabled || input.type === 'submit' || input.type === 'button') return;
      if (input.type === 'radio' && !input.checked) return;
      var v = fieldValue(input);
      if (v !== undefined) setPath(body, input.name, v);
    });
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll('.field-error[data-for]').forEach(function (p) { p.remove(); });
    form.querySelectorAll('[aria-invalid]').forEach(function (input) {
      input.removeAttribute('aria-invalid');
      var ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(function (id) { return id && id.slice(-6) !== '-error'; });
      if (ids.length) input.setAttribute('aria-describedby', ids.join(' ')); else input.removeAttribute('aria-describedby');
      var box = input.closest('.field');
      if (box) box.classList.remove('invalid');
    });
  }

  // Puts "message" next to the form's field "name"; false when the form has no such field.
  function showFieldError(form, name, message) {
    var input = form.elements[name];
    if (!input || !input.id) return false;
    var p = document.createElement('p');
    p.className = 'field-error';
    p.id = input.id + '-error';
    p.dataset.for = name;
    p.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#alert"></use></svg><span class="vh">Error: </span>';
    p.appendChild(document.createTextNode(message));
    input.parentNode.insertBefore(p, input);
    input.setAttribute('aria-invalid', 'true');
    var ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    ids.push(p.id);
    input.setAttribute('aria-describedby', ids.join(' '));
    var box = input.closest('.field');
    if (box) box.classList.add('invalid');
    return true;
  }

  // The API's errors in words: field errors by their fields, the rest as one sentence.
  function showErrors(form, out, status, body) {
    var error = (body && body.error) || {};
    var details = error.details || {};
    var fields = details.fields || [];
    if (details.field) fields = fields.concat([{ field: details.field, message: error.message }]);
    var shown = 0;
    var rest = [];
    fields.forEach(function (f) {
      if (showFieldError(form, f.field, f.message)) shown++; else rest.push(f.message);
    });
    var words = rest.length ? rest.join(' ') : (shown ? 'Check the ' + (shown === 1 ? 'field' : shown + ' fields') + ' marked.' : (error.message || 'The server answered ' + status + '.'));
    if (out) { out.textContent = words; out.dataset.kind = 'error'; }
    var first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
    announce(words);
  }

  function sendForm(form, onProgress) {
    var url = form.dataset.api;
    var method = (form.dataset.method || 'POST').toUpperCase();
    var multipart = form.enctype === 'multipart/form-data';
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader('accept', 'application/json');
      xhr.setRequestHeader('x-tenant-id', farm);
      xhr.withCredentials = true;
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      }
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        resolve({ status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300 && body && body.success !== false, body: body });
      };
      xhr.onerror = function () { reject(new Error('the connection failed')); };
      if (multipart) {
        xhr.send(new FormData(form));
      } else {
        xhr.setRequestHeader('content-type', 'application/json');
        xhr.send(JSON.stringify(formBody(form)));
      }
    });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target.closest('form[data-api]');
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    var out = form.querySelector('.action-out');
    var submit = form.querySelector('[type="submit"]');
    var bar = form.querySelector('progress[data-upload]');
    clearErrors(form);
    // A file too large, or none chosen, is said at once, before any upload starts (the
    // server would refuse it only after reading the start of it).
    var problem = null;
    form.querySelectorAll('input[type=file]').forEach(function (input) {
      var file = input.files && input.files[0];
      if (!file) {
        problem = problem || [input, 'Choose a file first.'];
      } else if (input.dataset.maxBytes && file.size > Number(input.dataset.maxBytes)) {
        problem = problem || [input, file.name + ' is larger than the ' + (input.dataset.maxWords || input.dataset.maxBytes + ' bytes') + ' allowed.'];
      }
    });
    if (problem) {
      showFieldError(form, problem[0].name, problem[1]);
      if (out) { out.textContent = problem[1]; out.dataset.kind = 'error'; }
      problem[0].focus();
      return;
    }
    if (submit) { submit.disabled = true; submit.setAttribute('aria-busy', 'true'); }
    if (out) { out.textContent = form.dataset.busy || 'Sending…'; delete out.dataset.kind; }
    var progress = bar ? function (loaded, total) {
      bar.hidden = false;
      bar.max = total;
      bar.value = loaded;
      bar.textContent = Math.round(100 * loaded / total) + ' %';
      if (out) out.textContent = 'Uploading… ' + Math.round(100 * loaded / total) + ' %';
    } : null;
    sendForm(form, progress).then(function (result) {
      if (result.status === 401) { signIn(); return; }
      if (!result.ok) { showErrors(form, out, result.status, result.body); return; }
      delete form.dataset.dirty;
      var data = (result.body && result.body.data) || {};
      var then = form.dataset.then || 'refresh';
      var words = form.dataset.done || 'Done.';
      if (out) { out.textContent = words; out.dataset.kind = 'ok'; }
      announce(words);
      if (then === 'reload') { window.location.reload(); return; }
      if (then.charAt(0) === '/') {
        var id = data.id || (data.job && data.job.id) || (data.file && data.file.id) || '';
        window.location.assign(then.replace('{id}', encodeURIComponent(id)));
        return;
      }
      if (form.dataset.reset !== undefined) form.reset();
      if (then === 'show' && form.dataset.show) {
        // Something the API shows once (a secret): fill the named element's [data-key] slots.
        var target = document.getElementById(form.dataset.show);
        if (target) {
          target.querySelectorAll('[data-key]').forEach(function (el) {
            var v = el.dataset.key.split('.').reduce(function (o, k) { return o == null ? o : o[k]; }, data);
            el.textContent = v == null ? '' : String(v);
          });
          target.hidden = false;
          target.focus();
        }
      }
      refreshAll();
    }).catch(function (error) {
      if (out) { out.textContent = 'Could not reach the server: ' + error.message; out.dataset.kind = 'error'; }
    }).then(function () {
      if (submit) { submit.disabled = false; submit.removeAttribute('aria-busy'); }
      if (bar && !bar.hidden && bar.value >= bar.max) bar.hidden = true;
    });
  });

  // Dependent selects: <select data-options-for="file_id"> offers only the options whose
  // data-for is the value chosen in #file_id (a file's own plates), and picks the first.
  function narrow(select) {
    var chooser = document.getElementById(select.dataset.optionsFor);
    if (!chooser) return;
    var first = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var mine = option.dataset.for === chooser.value;
      option.hidden = !mine;
      option.disabled = !mine;
      if (mine && !first) first = option;
    });
    if (first && (select.selectedOptions.length === 0 || select.selectedOptions[0].disabled)) select.value = first.value;
  }
  document.addEventListener('change', function (event) {
    if (!event.target.id) return;
    document.querySelectorAll('select[data-options-for="' + CSS.escape(event.target.id) + '"]').forEach(narrow);
  });
  document.querySelectorAll('select[data-options-for]').forEach(narrow);

  // Reorder lists: <ol data-reorder="/api/v1/…/order" data-reorder-key="printer_ids"> with
  // <li data-id> items. Drag an item, or use its "Move up"/"Move down" buttons
  // (button[data-move="up"|"down"]), and the new order is sent as { key: [ids…] }.
  function saveOrder(list) {
    var ids = Array.prototype.map.call(list.querySelectorAll(':scope > [data-id]'), function (li) { return li.dataset.id; });
    var body = {};
    body[list.dataset.reorderKey || 'ids'] = ids;
    var out = document.getElementById(list.dataset.out || '') || null;
    if (out) { out.textContent = 'Saving the order…'; delete out.dataset.kind; }
    return fetch(list.dataset.reorder, {
      method: list.dataset.method || 'PUT',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-tenant-id': farm },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (b) {
        var ok = response.ok && b && b.success !== false;
        var words = ok ? 'Order saved.' : ((b && b.error && b.error.message) || 'The server answered ' + response.status + '.');
        if (out) { out.textContent = words; out.dataset.kind = ok ? 'ok' : 'error'; }
        announce(words);
        if (!ok) refreshAll();
      });
    }).catch(function (error) {
      if (out) { out.textContent = 'Could not reach the server: ' + error.message; out.dataset.kind = 'error'; }
    });
  }

  var dragged = null;
  document.addEventListener('dragstart', function (event) {
    var item = event.target.closest && event.target.closest('[data-reorder] > [data-id]');
    if (!item) return;
    dragged = item;
    item.classList.add('dragging');
    event.dataTransfer.effectAllowed = 'move';
    event.dataTransfer.setData('text/plain', item.dataset.id);
  });
  document.addEventListener('dragover', function (event) {
    if (!dragged) return;
    var over = event.target.closest && event.target.closest('[data-reorder] > [data-id]');
    if (!over || over === dragged || over.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    // Past the item's diagonal: after it (works for lists and for grids of cards alike).
    var after = (event.clientY - box.top) / box.height + (event.clientX - box.left) / box.width > 1;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  document.addEventListener('dragend', function () {
    if (!dragged) return;
    var list = dragged.parentNode;
    dragged.classList.remove('dragging');
    dragged = null;
    saveOrder(list);
  });
  document.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-move]');
    if (!button) return;
    var item = button.closest('[data-reorder] > [data-id]');
    if (!item) return;
    var list = item.parentNode;
    var other = button.dataset.move === 'up' ? item.previousElementSibling : item.nextElementSibling;
    if (!other) return;
    list.insertBefore(item, button.dataset.move === 'up' ? other : other.nextSibling);
    button.focus();
    saveOrder(list);
  });

  // Cameras: a new picture every CAMERA_EVERY ms while someone looks.
  var CAMERA_EVERY = 5000;
  function camera(figure) {
    var img = figure.querySelector('img');
    var note = figure.querySelector('figcaption');
    var timer = null;
    function take() {
      clearTimeout(timer);
      if (document.hidden) return;
      var next = new Image();
      next.onload = function () {
        img.src = next.src;
        img.hidden = false;
        note.textContent = 'Camera, ' + new Date().toLocaleTimeString();
        timer = setTimeout(take, CAMERA_EVERY);
      };
      next.onerror = function () {
        note.textContent = 'No picture from the camera right now.';
        timer = setTimeout(take, CAMERA_EVERY * 2);
      };
      next.src = figure.dataset.camera + '?tenant=' + encodeURIComponent(farm) + '&at=' + Date.now();
    }
    document.addEventListener('visibilitychange', function () { if (!document.hidden) take(); });
    take();
  }
  document.querySelectorAll('[data-camera]').forEach(camera);

  localTimes(document);
  indexTiles();
  connect();
})();
