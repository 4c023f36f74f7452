/* essmap: code shared by the resident and planner maps (rendering only; no analysis here). */
(function (global) {
  'use strict';

  var Essmap = global.Essmap = global.Essmap || {};
  var numberFr = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 0 });
  var decimalFr = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
  var percentFr = new Intl.NumberFormat('fr-FR', { style: 'percent', maximumFractionDigits: 0 });

  /**
   * Messages: the page's catalogue (French messages to the page's language), set by the page
   * from its data block; a message it lacks is shown in French. Marked _('…') in the scripts.
   */
  Essmap.messages = {};
  Essmap._ = function (message) { return Essmap.messages[message] || message; };
  var _ = Essmap._;
  /** A message with {name} placeholders filled in. */
  Essmap.fmt = function (message, values) {
    return message.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  };

  Essmap.formatNumber = function (n) { return numberFr.format(n); };
  Essmap.formatPercent = function (x) { return percentFr.format(x); };

  /** "350 m" or "1,2 km". */
  Essmap.formatDistance = function (metres) {
    if (metres < 1000) { return numberFr.format(Math.round(metres)) + '\u00a0m'; }
    return decimalFr.format(metres / 1000) + '\u00a0km';
  };

  // (a RegExp from a string: quotes inside a regular expression literal confuse the message
  // extractor of the catalogues, which would then miss the messages that follow)
  var HTML_SPECIAL = new RegExp('[&<>"\']', 'g');
  var HTML_ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  Essmap.escapeHtml = function (value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(HTML_SPECIAL, function (c) { return HTML_ENTITIES[c]; });
  };

  /** A link for http(s) URLs, escaped text for anything else. */
  Essmap.linkOrText = function (value, label) {
    var text = Essmap.escapeHtml(label || value);
    if (/^https?:\/\//i.test(String(value || ''))) {
      return '<a href="' + Essmap.escapeHtml(value) + '" target="_blank" rel="noopener noreferrer">' + text + '</a>';
    }
    return text;
  };

  /**
   * Straight-line distance in metres on the GRS80 ellipsoid (as the server measures, in a metric
   * CRS, to the metre): the great-circle angle times the ellipsoid's radius of curvature at the
   * middle latitude in the direction travelled (Euler's formula). A sphere would be 0.3 % short
   * east-west at Bayonne's latitude.
   */
  Essmap.distance = function (lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var a = 6378137;
    var e2 = 0.00669438002290;  // GRS80
    var phi = ((lat1 + lat2) / 2) * rad;
    var w = 1 - e2 * Math.sin(phi) * Math.sin(phi);
    var meridian = (a * (1 - e2)) / Math.pow(w, 1.5);  // radius of curvature north-south
    var normal = a / Math.sqrt(w);  // radius of curvature east-west
    var north = (lat2 - lat1) * rad * meridian;
    var east = (lon2 - lon1) * rad * normal * Math.cos(phi);
    if (north === 0 && east === 0) { return 0; }
    var radius = (meridian * normal * (north * north + east * east)) / (normal * north * north + meridian * east * east);
    var dLat = (lat2 - lat1) * rad;
    var dLon = (lon2 - lon1) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * radius * Math.asin(Math.min(1, Math.sqrt(h)));
  };

  /** Read the page's data block: plain JSON, or gzip + base64 for large data. */
  Essmap.loadData = function (id) {
    var el = document.getElementById(id);
    if (el.dataset.encoding !== 'gzip-base64') {
      return Promise.resolve(JSON.parse(el.textContent));
    }
    var binary = atob(el.textContent.trim());
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(JSON.parse);
  };

  /** Decode a column: a list, or {values, codes} with -1 for a missing value. */
  Essmap.decodeColumn = function (column, n) {
    if (Array.isArray(column)) { return column; }
    var out = new Array(n);
    var values = column.values;
    var codes = column.codes;
    for (var i = 0; i < n; i++) { out[i] = codes[i] < 0 ? null : values[codes[i]]; }
    return out;
  };

  /** Decode delta-encoded integer coordinates. */
  Essmap.decodeCoordinates = function (deltas, scale) {
    var out = new Float64Array(deltas.length);
    var acc = 0;
    for (var i = 0; i < deltas.length; i++) { acc += deltas[i]; out[i] = acc / scale; }
    return out;
  };

  /** An inline SVG sprite: one symbol per category glyph and the hatching of gaps, added once. */
  Essmap.addGlyphSprite = function (categories) {
    if (document.getElementById('essmap-glyphs')) { return; }
    var symbols = categories.map(function (c) {
      return '<symbol id="essmap-glyph-' + c.key + '" viewBox="0 0 24 24"><path d="' + c.glyph + '"/></symbol>';
    }).join('');
    var holder = document.createElement('div');
    var hatch = '<pattern id="essmap-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)">' +
      '<rect width="8" height="8" fill="rgba(183,28,28,0.12)"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b71c1c" stroke-width="3"/></pattern>';
    holder.innerHTML = '<svg id="essmap-glyphs" aria-hidden="true" style="position:absolute;width:0;height:0;overflow:hidden"><defs>' +
      hatch + '</defs>' + symbols + '</svg>';
    document.body.appendChild(holder.firstChild);
    var css = categories.map(function (c) {
      return '.essmap-cat-' + c.key + '{background-color:' + c.color + '}';
    }).join('\n');
    var style = document.createElement('style');
    style.textContent = css;
    document.head.appendChild(style);
  };

  /** The small round symbol of a category (HTML). */
  Essmap.categorySymbol = function (key, extraClass) {
    return '<span class="essmap-symbol essmap-cat-' + key + (extraClass ? ' ' + extraClass : '') + '">' +
      '<svg viewBox="0 0 24 24" aria-hidden="true"><use href="#essmap-glyph-' + key + '"/></svg></span>';
  };

  Essmap.isSmallScreen = function () {
    return window.matchMedia('(max-width: 600px)').matches;
  };

  /**
   * Fit the map to the data, leaving room for the panels on the right on a large screen
   * (``rightPadding`` pixels when given, at most half the map), and on a small one for the column
   * of buttons in the top right corner (the controls added so far).
   */
  Essmap.fitData = function (map, bounds, rightPadding) {
    if (!bounds) {
      map.setView([46.6, 2.4], 6);
      return;
    }
    var corner = map.getContainer().querySelector('.leaflet-top.leaflet-right');
    var right = Essmap.isSmallScreen()
      ? Math.min((corner ? corner.offsetWidth : 0) + 10, map.getSize().x / 3)
      : Math.min(rightPadding || 360, map.getSize().x / (rightPadding ? 2 : 3));
    // without animation: a zoom animation still running would undo a view set just after (the URL's)
    map.fitBounds(bounds, { paddingTopLeft: [50, 20], paddingBottomRight: [right, 20], maxZoom: 16, animate: false });
  };

  /**
   * How far in from each side of the map the visible controls reach (pixels): the widest control of
   * the left columns and of the right columns (the attribution line left out).
   */
  function controlColumns(map) {
    var box = map.getContainer().getBoundingClientRect();
    var columns = { left: 0, right: 0 };
    Array.prototype.forEach.call(map.getContainer().querySelectorAll('.leaflet-control'), function (el) {
      if (el.classList.contains('leaflet-control-attribution') || getComputedStyle(el).visibility === 'hidden') { return; }
      var r = el.getBoundingClientRect();
      if (!r.width || !r.height) { return; }
      if (el.closest('.leaflet-left')) { columns.left = Math.max(columns.left, r.right - box.left); }
      else { columns.right = Math.max(columns.right, box.right - r.left); }
    });
    return columns;
  }

  /**
   * The one rule for popups and controls, on every map: a popup is never covered by a control.
   * On a small screen the controls make way while a popup is open (they come back when it
   * closes); elsewhere Leaflet's autoPan moves the popup between the columns of controls (or
   * clear of the right column, where its close button is, when both do not leave room for it).
   */
  Essmap.popupsClearControls = function (map) {
    var container = map.getContainer();
    map.on('popupopen', function (e) {
      if (Essmap.isSmallScreen()) { container.classList.add('essmap-popup-open'); }
      var popup = e.popup;
      if (!popup.options.autoPan || !popup.getElement()) { return; }
      var columns = controlColumns(map);
      var room = map.getSize().x - popup.getElement().offsetWidth - 20;
      var left = columns.left + columns.right <= room ? columns.left : 0;
      var right = columns.right <= room ? columns.right : 0;
      popup.options.autoPanPaddingTopLeft = [Math.max(10, left + 10), 10];
      popup.options.autoPanPaddingBottomRight = [Math.max(10, right + 10), 30];
      popup.update();  // auto-pans again, with room for the controls
    });
    map.on('popupclose', function () { container.classList.remove('essmap-popup-open'); });
  };

  /**
   * A collapsible panel control: a button that shows or hides its content.
   * On a small screen panels start collapsed.
   */
  Essmap.Panel = L.Control.extend({
    options: { position: 'topright', title: '', shortTitle: '', className: '', collapsed: null },

    onAdd: function () {
      var container = L.DomUtil.create('div', 'essmap-panel leaflet-bar ' + this.options.className);
      var button = L.DomUtil.create('button', 'essmap-panel-toggle', container);
      button.type = 'button';
      var label = Essmap.isSmallScreen() && this.options.shortTitle ? this.options.shortTitle : this.options.title;
      button.innerHTML = Essmap.escapeHtml(label);
      button.title = this.options.title;
      button.setAttribute('aria-expanded', 'true');
      var body = L.DomUtil.create('div', 'essmap-panel-body', container);
      // the body may scroll: reachable with the keyboard, and named for screen readers
      body.setAttribute('tabindex', '0');
      body.setAttribute('role', 'region');
      body.setAttribute('aria-label', this.options.title);
      this._container = container;
      this._button = button;
      this._body = body;
      L.DomEvent.disableClickPropagation(container);
      L.DomEvent.disableScrollPropagation(container);
      L.DomEvent.on(button, 'click', this.toggle, this);
      var collapsed = this.options.collapsed === null ? Essmap.isSmallScreen() : this.options.collapsed;
      if (collapsed) { this.collapse(); }
      return container;
    },

    setContent: function (html) {
      this._body.innerHTML = html;
      return this;
    },

    getBody: function () { return this._body; },

    setTitle: function (title, shortTitle) {
      this.options.title = title;
      this.options.shortTitle = shortTitle || '';
      var label = Essmap.isSmallScreen() && this.options.shortTitle ? this.options.shortTitle : title;
      this._button.textContent = label;
      this._button.title = title;
      return this;
    },

    expand: function () {
      L.DomUtil.removeClass(this._container, 'essmap-collapsed');
      this._button.setAttribute('aria-expanded', 'true');
    },

    collapse: function () {
      L.DomUtil.addClass(this._container, 'essmap-collapsed');
      this._button.setAttribute('aria-expanded', 'false');
    },

    toggle: function () {
      if (L.DomUtil.hasClass(this._container, 'essmap-collapsed')) { this.expand(); } else { this.collapse(); }
    }
  });

  /** French strings of the Leaflet controls, and a metric scale bar. */
  Essmap.frenchControls = function (map) {
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
    if (map.zoomControl) {
      var zoomIn = map.zoomControl._zoomInButton;
      var zoomOut = map.zoomControl._zoomOutButton;
      zoomIn.title = _('Zoom avant'); zoomIn.setAttribute('aria-label', _('Zoom avant'));
      zoomOut.title = _('Zoom arrière'); zoomOut.setAttribute('aria-label', _('Zoom arrière'));
    }
    if (map.attributionControl) {
      map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="' + Essmap.escapeHtml(_('Bibliothèque de cartes en JavaScript')) + '">Leaflet</a>');
    }
  };

  /** Full-screen and locate controls with French labels. */
  Essmap.addFullscreen = function (map) {
    var control = new L.Control.FullScreen({
      position: 'topleft',
      title: _('Plein écran'),
      titleCancel: _('Quitter le plein écran'),
      forceSeparateButton: true
    });
    control.addTo(map);
    return control;
  };

  /**
   * The locate control, which moves to the position only where ``options.accept(latlng)`` allows
   * (when given): elsewhere it stops, leaving the view and drawing no marker.
   */
  var Locate = null;  // made on first use: pages without the locate plugin load this file too
  function locateControl(options) {
    var Base = L.Control.Locate.LocateControl;
    Locate = Locate || Base.extend({
      setView: function () {
        var accept = this.options.accept;
        if (accept && this._event && !accept(this._event.latlng)) {
          this._event = undefined;  // forgotten, as the plugin does outside the map's bounds: a new
          this.stop();              // click asks the device again instead of reusing it
          return;
        }
        Base.prototype.setView.call(this);
      }
    });
    return new Locate(options);
  }

  Essmap.addLocate = function (map, extra) {
    var control = locateControl(L.extend({
      position: 'topleft',
      setView: 'untilPanOrZoom',
      flyTo: false,
      showPopup: false,
      drawCircle: true,
      keepCurrentZoomLevel: false,
      initialZoomLevel: 16,
      locateOptions: { enableHighAccuracy: true, maxZoom: 16 },
      strings: {
        title: _('Me localiser'),
        metersUnit: _('mètres'),
        feetUnit: 'pieds',
        popup: _('Vous êtes à moins de {distance} {unit} de ce point'),
        outsideMapBoundsMsg: _('Vous semblez être en dehors de la carte')
      },
      onLocationError: function (err) {
        Essmap.notify(map, _('Impossible de vous localiser :') + ' ' + (err && err.message ? err.message : _('position indisponible')));
      }
    }, extra || {}));
    control.addTo(map);
    return control;
  };

  /** A short message shown at the bottom of the map for a few seconds. */
  Essmap.notify = function (map, text) {
    var box = map.getContainer().querySelector('.essmap-notice');
    if (!box) {
      box = L.DomUtil.create('div', 'essmap-notice', map.getContainer());
      box.setAttribute('role', 'status');
    }
    box.textContent = text;
    box.style.display = 'block';
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.style.display = 'none'; }, 6000);
  };

  /**
   * The offline backdrop: commune outlines and names from the page's block "essmap-backdrop"
   * (present only when no tile server is set), drawn below every layer and never clickable.
   */
  Essmap.drawBackdrop = function (map) {
    var block = document.getElementById('essmap-backdrop');
    if (!block || map._essmapBackdrop) { return null; }
    var data = JSON.parse(block.textContent);
    var pane = map.createPane('essmap-backdrop');
    pane.style.zIndex = 150;
    pane.style.pointerEvents = 'none';
    var layer = L.geoJSON(data.communes, {
      pane: 'essmap-backdrop',
      interactive: false,
      style: function () {
        return { color: '#8d8273', weight: 1.2, opacity: 0.9, dashArray: '4 3', fillColor: '#f7f4ec', fillOpacity: 1, className: 'essmap-commune' };
      }
    }).addTo(map);
    var names = L.layerGroup(data.communes.features.map(function (f) {
      return L.marker(f.properties.label, {
        pane: 'essmap-backdrop',
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: 'essmap-commune-label', html: '<span>' + Essmap.escapeHtml(f.properties.name) + '</span>', iconSize: [0, 0] })
      });
    })).addTo(map);
    if (map.attributionControl && data.sources.length) {
      map.attributionControl.addAttribution('Fond : ' + Essmap.escapeHtml(data.sources.join(' ; ')));
    }
    map._essmapBackdrop = { outlines: layer, names: names };
    return map._essmapBackdrop;
  };
  L.Map.addInitHook(function () { Essmap.drawBackdrop(this); });

  /** Mark the page as ready (tests and benchmarks wait for this). */
  Essmap.ready = function (map, startedAt) {
    global.essmapMap = map;
    global.essmapReadyMs = performance.now();
    global.essmapInitMs = performance.now() - startedAt;
    global.essmapReady = true;
    map.getContainer().setAttribute('data-essmap-ready', 'true');
    map.fire('essmap:ready');
  };

  Essmap.fail = function (map, error) {
    global.essmapError = String(error && error.stack ? error.stack : error);
    Essmap.notify(map, _('La carte n\u2019a pas pu être affichée :') + ' ' + (error && error.message ? error.message : error));
    throw error;
  };
})(window);
