/*
 * essmap resident page around the map: a header with the address search and the language
 * switch, and beside the map the nearest supply points and the list of actors (the accessible
 * way to the same content: sorted by name, or by distance once a point is chosen, filtered by
 * category and by text).
 *
 * The search box follows the ARIA combobox pattern (role=combobox, a listbox of options,
 * aria-activedescendant; arrows, Enter, Escape). Served by essmap, it suggests addresses from
 * /geocode; in a standalone file (no server), it says so and looks among the actors instead.
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var _ = Essmap._;
  var fmt = Essmap.fmt;
  var LIST_MAX = 100;
  var SUGGESTIONS = 6;

  function el(tag, attrs, html) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (html !== undefined) { node.innerHTML = html; }
    return node;
  }

  /** Text folded for matching: lower case, no accents. */
  function fold(text) {
    return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }

  /* ---------------------------------------------------------------- layout */

  function languageLinks(data) {
    if (!data.api || !data.api.languages) { return ''; }
    var links = data.languages.map(function (l) {
      var current = l.code === data.lang;
      return '<a href="?lang=' + h(l.code) + '" class="essmap-lang" lang="' + h(l.code) + '" hreflang="' + h(l.code) + '"' +
        (current ? ' aria-current="true"' : '') + '>' + h(l.name) + '</a>';
    });
    return '<nav class="essmap-langs" aria-label="' + h(_('Langue')) + '">' + links.join(' ') + '</nav>';
  }

  function layout(ctx) {
    var data = ctx.data;
    var container = ctx.map.getContainer();
    document.body.classList.add('essmap-resident-page');
    var header = el('header', { 'class': 'essmap-header' });
    var offline = !(data.api && data.api.geocode);
    header.innerHTML =
      '<h1 class="essmap-title">' + h(_('Où trouver des produits en circuit court près de chez moi ?')) + '</h1>' +
      languageLinks(data) +
      '<div class="essmap-search" role="search">' +
      '<label for="essmap-search-input">' + h(offline ? _('Chercher un acteur') : _('Votre adresse')) + '</label>' +
      '<div class="essmap-combobox">' +
      '<input id="essmap-search-input" type="text" role="combobox" autocomplete="off" spellcheck="false"' +
      ' aria-autocomplete="list" aria-expanded="false" aria-controls="essmap-search-list" aria-describedby="essmap-search-hint"' +
      ' placeholder="' + h(offline ? _('nom, rue ou commune') : _('ex. 12 avenue de Lattre de Tassigny, Bayonne')) + '">' +
      '<ul id="essmap-search-list" role="listbox" aria-label="' + h(_('Suggestions')) + '" hidden></ul>' +
      '</div>' +
      '<p id="essmap-search-hint" class="essmap-hint">' + h(offline
        ? (data.api
          ? _('Recherche d\u2019adresse indisponible sur ce serveur : la recherche porte sur les noms et adresses des acteurs.')
          : _('Recherche d\u2019adresse indisponible dans ce fichier hors ligne : la recherche porte sur les noms et adresses des acteurs.'))
        : _('Tapez une adresse puis choisissez une suggestion (flèches et Entrée) : les points d\u2019approvisionnement les plus proches s\u2019affichent.')) + '</p>' +
      '<p id="essmap-search-status" class="essmap-visually-hidden" role="status" aria-live="polite"></p>' +
      '</div>';
    var aside = el('aside', { 'class': 'essmap-sidebar', 'aria-label': _('Points les plus proches et liste des acteurs') });
    var options = data.categories.map(function (c) {
      return '<option value="' + h(c.key) + '">' + h(c.label) + '</option>';
    }).join('');
    aside.innerHTML =
      '<section class="essmap-nearest" aria-labelledby="essmap-nearest-title">' +
      '<h2 id="essmap-nearest-title">' + h(_('Points d\u2019approvisionnement les plus proches')) + '</h2>' +
      '<div class="essmap-nearest-body"></div></section>' +
      '<section class="essmap-list-section" aria-labelledby="essmap-list-title">' +
      '<h2 id="essmap-list-title">' + h(_('Liste des acteurs')) + '</h2>' +
      '<div class="essmap-list-filters">' +
      '<label for="essmap-list-category">' + h(_('Catégorie')) + '</label>' +
      '<select id="essmap-list-category"><option value="">' + h(_('Toutes les catégories')) + '</option>' + options +
      '<option value="*" disabled>' + h(_('Choix de la légende')) + '</option></select>' +
      '<label for="essmap-list-text">' + h(_('Filtrer par texte')) + '</label>' +
      '<input id="essmap-list-text" type="search" autocomplete="off" placeholder="' + h(_('nom, adresse, description')) + '">' +
      '</div>' +
      '<p id="essmap-list-count" class="essmap-hint" role="status" aria-live="polite"></p>' +
      '<ul id="essmap-list" class="essmap-actor-list"></ul></section>';
    var main = el('main', { 'class': 'essmap-main' });
    container.parentNode.insertBefore(header, container);
    container.parentNode.insertBefore(main, container);
    main.appendChild(aside);
    main.appendChild(container);
    ctx.nearestBox = aside.querySelector('.essmap-nearest-body');
    ctx.map.invalidateSize({ animate: false });
  }

  /* ---------------------------------------------------------------- list view */

  function ActorList(ctx) {
    this.ctx = ctx;
    this.box = document.getElementById('essmap-list');
    this.count = document.getElementById('essmap-list-count');
    this.category = document.getElementById('essmap-list-category');
    this.text = document.getElementById('essmap-list-text');
    var actors = ctx.actors;
    this.haystack = new Array(actors.n);
    for (var i = 0; i < actors.n; i++) {
      this.haystack[i] = fold([actors.get(i, 'name'), actors.get(i, 'address'), actors.get(i, 'commune'),
        actors.get(i, 'description'), ctx.labels[actors.category[i]]].join(' '));
    }
    var self = this;
    L.DomEvent.on(this.text, 'input', function () { self.render(); });
    L.DomEvent.on(this.category, 'change', function () {
      var value = self.category.value;
      var all = ctx.data.categories.map(function (c) { return c.key; });
      ctx.layer.setCategories(value ? [value] : all);
    });
    ctx.layer.on('categorieschange', function () { self.syncCategory(); self.render(); });
    L.DomEvent.on(this.box, 'click', function (ev) {
      var target = ev.target.closest('button[data-index]');
      if (target) { ctx.showActor(Number(target.getAttribute('data-index'))); }
    });
    this.syncCategory();
  }

  ActorList.prototype.syncCategory = function () {
    var enabled = Array.from(this.ctx.layer.enabledCategories());
    var all = this.ctx.data.categories.length;
    this.category.value = enabled.length === all ? '' : enabled.length === 1 ? enabled[0] : '*';
  };

  ActorList.prototype.render = function () {
    var ctx = this.ctx;
    var actors = ctx.actors;
    var enabled = ctx.layer.enabledCategories();
    var words = fold(this.text.value).split(/\s+/).filter(Boolean);
    var rows = [];
    for (var i = 0; i < actors.n; i++) {
      if (!enabled.has(actors.category[i])) { continue; }
      var hay = this.haystack[i];
      if (words.every(function (w) { return hay.indexOf(w) >= 0; })) { rows.push(i); }
    }
    var origin = ctx.origin;
    var dist = null;
    if (origin) {
      dist = {};
      rows.forEach(function (r) { dist[r] = Essmap.distance(origin.latlng.lat, origin.latlng.lng, actors.lat[r], actors.lon[r]); });
      rows.sort(function (a, b) { return dist[a] - dist[b]; });
    }
    var shown = rows.slice(0, LIST_MAX);
    var items = shown.map(function (r) {
      var cat = actors.category[r];
      var address = actors.get(r, 'address') || actors.get(r, 'commune') || '';
      return '<li data-actor-id="' + h(actors.get(r, 'id')) + '">' + Essmap.categorySymbol(cat, 'essmap-symbol-small') +
        ' <button type="button" class="essmap-link" data-index="' + r + '">' + h(actors.get(r, 'name')) + '</button>' +
        '<br><small>' + h(ctx.labels[cat] || cat) + (dist ? ' · <span class="essmap-distance">' +
        h(fmt(_('{distance} à vol d\u2019oiseau'), { distance: Essmap.formatDistance(dist[r]) })) + '</span>' : '') + '</small>' +
        (address ? '<br><small>' + h(address) + '</small>' : '') +
        '<br>' + global.EssmapResident.nextPickupLine(ctx, r) + '</li>';
    });
    this.box.innerHTML = items.join('');
    var order = origin ? fmt(_('triés par distance : {origin}'), { origin: origin.label }) : _('triés par nom');
    var count = fmt(_('{n} acteur(s) sur la carte, {order}.'), { n: Essmap.formatNumber(rows.length), order: order });
    if (rows.length > shown.length) {
      count += ' ' + fmt(_('Les {n} premiers sont listés : précisez le filtre pour voir les autres.'), { n: shown.length });
    }
    this.count.textContent = count;
  };

  /* ---------------------------------------------------------------- address search */

  function Search(ctx) {
    this.ctx = ctx;
    this.input = document.getElementById('essmap-search-input');
    this.listbox = document.getElementById('essmap-search-list');
    this.status = document.getElementById('essmap-search-status');
    this.api = ctx.data.api && ctx.data.api.geocode ? ctx.data.api.geocode : null;
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.request = null;
    this.seq = 0;
    var self = this;
    L.DomEvent.on(this.input, 'input', function () { self.changed(); });
    L.DomEvent.on(this.input, 'keydown', function (ev) { self.key(ev); });
    L.DomEvent.on(this.input, 'blur', function () { setTimeout(function () { self.close(); }, 150); });
    L.DomEvent.on(this.listbox, 'mousedown', function (ev) { ev.preventDefault(); });
    L.DomEvent.on(this.listbox, 'click', function (ev) {
      var item = ev.target.closest('[role=option]');
      if (item) { self.choose(Number(item.getAttribute('data-k'))); }
    });
  }

  Search.prototype.changed = function () {
    var self = this;
    clearTimeout(this.timer);
    var text = this.input.value;
    if (!text.trim()) { this.show([]); return; }
    this.timer = setTimeout(function () { self.suggest(text); }, this.api ? 150 : 0);
  };

  Search.prototype.suggest = function (text) {
    var self = this;
    var seq = ++this.seq;
    if (!this.api) { this.show(this.localActors(text)); return; }
    if (this.request) { this.request.abort(); }
    this.request = new AbortController();
    var url = this.api + '?q=' + encodeURIComponent(text) + '&limit=' + SUGGESTIONS;
    fetch(url, { signal: this.request.signal, headers: { Accept: 'application/geo+json' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) {
        if (seq !== self.seq) { return; }
        self.show(body.features.map(function (f) {
          return { kind: 'address', label: f.properties.label, lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0] };
        }));
      })
      .catch(function (error) {
        if (error && error.name === 'AbortError') { return; }
        // the server cannot search addresses (none imported): look among the actors instead
        self.api = null;
        document.getElementById('essmap-search-hint').textContent =
          _('Recherche d\u2019adresse indisponible sur ce serveur : la recherche porte sur les noms et adresses des acteurs.');
        if (seq === self.seq) { self.show(self.localActors(text)); }
      });
  };

  Search.prototype.localActors = function (text) {
    var ctx = this.ctx;
    var words = fold(text).split(/\s+/).filter(Boolean);
    var out = [];
    var list = ctx.list;
    for (var i = 0; i < ctx.actors.n && out.length < SUGGESTIONS; i++) {
      var hay = list.haystack[i];
      if (words.every(function (w) { return hay.indexOf(w) >= 0; })) {
        out.push({ kind: 'actor', index: i, label: ctx.actors.get(i, 'name'), detail: ctx.labels[ctx.actors.category[i]] });
      }
    }
    return out;
  };

  Search.prototype.show = function (options) {
    this.options = options;
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    this.listbox.innerHTML = options.map(function (o, k) {
      return '<li id="essmap-search-option-' + k + '" role="option" aria-selected="false" data-k="' + k + '">' + h(o.label) +
        (o.detail ? ' <small>' + h(o.detail) + '</small>' : '') + '</li>';
    }).join('');
    var open = options.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute('aria-expanded', open ? 'true' : 'false');
    var text = this.input.value.trim();
    this.status.textContent = !text ? '' : open
      ? fmt(_('{n} suggestion(s) : flèches pour choisir, Entrée pour valider.'), { n: options.length })
      : _('Aucune réponse pour ce texte.');
  };

  Search.prototype.close = function () {
    this.listbox.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  };

  Search.prototype.move = function (k) {
    var n = this.options.length;
    if (!n) { return; }
    if (this.listbox.hidden) { this.listbox.hidden = false; this.input.setAttribute('aria-expanded', 'true'); }
    this.active = (k + n) % n;
    var items = this.listbox.querySelectorAll('[role=option]');
    for (var j = 0; j < items.length; j++) { items[j].setAttribute('aria-selected', j === this.active ? 'true' : 'false'); }
    var current = items[this.active];
    this.input.setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  };

  Search.prototype.key = function (ev) {
    if (ev.key === 'ArrowDown') { ev.preventDefault(); this.move(this.active + 1); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); this.move(this.active - 1); }
    else if (ev.key === 'Enter') {
      if (this.options.length) {
        ev.preventDefault();
        this.choose(this.active >= 0 ? this.active : 0);
      }
    } else if (ev.key === 'Escape') {
      if (!this.listbox.hidden) { this.close(); } else { this.input.value = ''; this.show([]); }
    }
  };

  Search.prototype.choose = function (k) {
    var option = this.options[k];
    if (!option) { return; }
    var ctx = this.ctx;
    this.input.value = option.label;
    this.close();
    if (option.kind === 'actor') {
      ctx.showActor(option.index);
      return;
    }
    var latlng = L.latLng(option.lat, option.lon);
    global.EssmapResident.showNearest(ctx, latlng, fmt(_('Depuis « {address} »'), { address: option.label }));
    var best = global.EssmapResident.nearestSupply(ctx, latlng, 3);
    if (!best.length) { return; }  // too far from every point: the nearest panel says so, the view stays
    var bounds = L.latLngBounds([latlng]);
    best.forEach(function (b) { bounds.extend([ctx.actors.lat[b.i], ctx.actors.lon[b.i]]); });
    ctx.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17, animate: false });
    this.status.textContent = fmt(_('Adresse choisie : {address}. Les points les plus proches sont listés.'), { address: option.label });
  };

  global.EssmapResidentPage = {
    layout: layout,
    connect: function (ctx) {
      ctx.list = new ActorList(ctx);
      ctx.list.render();
      ctx.search = new Search(ctx);
      // the language switch keeps the view, the filter and the other parameters of the URL
      Array.prototype.forEach.call(document.querySelectorAll('a.essmap-lang'), function (link) {
        L.DomEvent.on(link, 'click', function (ev) {
          ev.preventDefault();
          var params = new URLSearchParams(global.location.search);
          params.set('lang', link.getAttribute('hreflang'));
          global.location.href = global.location.pathname + '?' + params.toString() + global.location.hash;
        });
      });
    }
  };
})(window);
