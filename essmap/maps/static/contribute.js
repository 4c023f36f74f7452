/*
 * essmap contributions on the resident map: "Proposer un lieu" and "Signaler une erreur".
 *
 * Loaded only on pages served by the API (which adds the data block #essmap-contribute-config).
 * It needs nothing from the page's own script but what every map page has:
 *   - window.essmapMap and window.essmapReady (set by Essmap.ready once the map is drawn);
 *   - Leaflet's "popupopen" event, and in an actor's popup an element with data-actor-id (the
 *     actor's id) whose .essmap-popup-title holds its name.
 * Each form opens in a modal <dialog> (keyboard and focus handled by the browser), sends a
 * proposal to the API without a key, and announces errors and success through live regions.
 */
(function (global) {
  'use strict';

  var config = null;
  var lastClick = null;
  var idCounter = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === 'text') { node.textContent = value; } else { node.setAttribute(name, value === true ? '' : value); }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function uid(prefix) { idCounter += 1; return 'essmap-' + prefix + '-' + idCounter; }

  /** A labelled field with its hint and its error message, both tied to the input. */
  function field(spec) {
    var id = uid(spec.name);
    var input;
    if (spec.type === 'select') {
      input = el('select', { id: id, name: spec.name });
      input.appendChild(el('option', { value: '', text: _('— choisir —') }));
      spec.options.forEach(function (o) { input.appendChild(el('option', { value: o.key, text: o.label })); });
    } else if (spec.type === 'textarea') {
      input = el('textarea', { id: id, name: spec.name, rows: spec.rows || 3, maxlength: spec.maxlength || null });
    } else {
      input = el('input', {
        id: id, name: spec.name, type: spec.type || 'text', autocomplete: spec.autocomplete || 'off',
        inputmode: spec.inputmode || null, maxlength: spec.maxlength || null
      });
    }
    if (spec.required) { input.setAttribute('aria-required', 'true'); }
    if (spec.value) { input.value = spec.value; }
    var described = [];
    var wrap = el('div', { class: 'essmap-field' }, [
      el('label', { for: id, text: spec.label + (spec.required ? ' ' + _('(obligatoire)') : '') })
    ]);
    if (spec.hint) {
      var hint = el('p', { id: id + '-hint', class: 'essmap-field-hint', text: spec.hint });
      wrap.appendChild(hint);
      described.push(hint.id);
    }
    wrap.appendChild(input);
    var error = el('p', { id: id + '-error', class: 'essmap-field-error', hidden: true });
    wrap.appendChild(error);
    described.push(error.id);
    input.setAttribute('aria-describedby', described.join(' '));
    return wrap;
  }

  function fieldset(legend, children) {
    return el('fieldset', {}, [el('legend', { text: legend })].concat(children));
  }

  /** The honeypot: a field people never see nor reach; a robot filling every field fills it. */
  function honeypot() {
    var id = uid('hp');
    return el('div', { class: 'essmap-hp', 'aria-hidden': 'true' }, [
      el('label', { for: id, text: _('Ne pas remplir ce champ') }),
      el('input', { id: id, name: 'honeypot', type: 'text', tabindex: '-1', autocomplete: 'off' })
    ]);
  }

  /* ---------------------------------------------------------------- the dialog */

  function Dialog(title, intro) {
    var titleId = uid('title');
    this.dialog = el('dialog', { class: 'essmap-contribute', 'aria-labelledby': titleId });
    this.form = el('form', { novalidate: true, method: 'dialog' });
    var close = el('button', { type: 'button', class: 'essmap-contribute-close', 'aria-label': _('Fermer'), text: '\u00d7' });
    this.form.appendChild(el('div', { class: 'essmap-contribute-head' }, [el('h2', { id: titleId, text: title }), close]));
    if (intro) { this.form.appendChild(intro); }
    this.summary = el('div', { class: 'essmap-contribute-errors', role: 'alert', tabindex: '-1', hidden: true });
    this.form.appendChild(this.summary);
    this.body = el('div', { class: 'essmap-contribute-body' });
    this.form.appendChild(this.body);
    this.status = el('p', { class: 'essmap-contribute-status', role: 'status', 'aria-live': 'polite' });
    this.submit = el('button', { type: 'submit', class: 'essmap-button essmap-button-primary', text: _('Envoyer') });
    var cancel = el('button', { type: 'button', class: 'essmap-button', text: _('Annuler') });
    this.actions = el('div', { class: 'essmap-contribute-actions' }, [this.submit, cancel]);
    this.form.appendChild(this.actions);
    this.form.appendChild(this.status);
    this.dialog.appendChild(this.form);
    var self = this;
    close.addEventListener('click', function () { self.close(); });
    cancel.addEventListener('click', function () { self.close(); });
    this.dialog.addEventListener('close', function () { self.dialog.remove(); if (self.opener) { self.opener.focus(); } });
    document.body.appendChild(this.dialog);
  }

  Dialog.prototype.open = function (opener) {
    this.opener = opener || document.activeElement;
    this.dialog.showModal();
    var first = this.body.querySelector('input:not([tabindex="-1"]), select, textarea');
    if (first) { first.focus(); }
  };

  Dialog.prototype.close = function () { if (this.dialog.open) { this.dialog.close(); } };

  Dialog.prototype.clearErrors = function () {
    this.summary.hidden = true;
    this.summary.textContent = '';
    Array.prototype.forEach.call(this.form.querySelectorAll('.essmap-field-error'), function (p) { p.hidden = true; p.textContent = ''; });
    Array.prototype.forEach.call(this.form.querySelectorAll('[aria-invalid]'), function (i) { i.removeAttribute('aria-invalid'); });
  };

  /** Show errors next to their fields (by name) and in the summary, then move focus to them. */
  Dialog.prototype.showErrors = function (errors, heading) {
    this.clearErrors();
    var form = this.form;
    var list = el('ul');
    var firstInput = null;
    errors.forEach(function (e) {
      var input = e.field ? form.querySelector('[name="' + e.field + '"]') : null;
      var label = input ? form.querySelector('label[for="' + input.id + '"]').textContent.replace(' ' + _('(obligatoire)'), '') : null;
      list.appendChild(el('li', { text: (label ? label + ' : ' : '') + e.message }));
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        var p = document.getElementById(input.id + '-error');
        if (p) { p.textContent = e.message; p.hidden = false; }
        if (!firstInput) { firstInput = input; }
      }
    });
    this.summary.appendChild(el('p', { text: heading || _('La proposition n\u2019a pas été envoyée :') }));
    this.summary.appendChild(list);
    this.summary.hidden = false;
    (firstInput || this.summary).focus();
  };

  Dialog.prototype.done = function (text) {
    this.clearErrors();
    this.body.hidden = true;
    this.submit.remove();
    this.actions.lastChild.textContent = _('Fermer');
    this.status.textContent = text;
    this.actions.lastChild.focus();
  };

  Dialog.prototype.value = function (name) {
    var input = this.form.querySelector('[name="' + name + '"]');
    if (!input) { return ''; }
    if (input.type === 'radio') {
      var checked = this.form.querySelector('[name="' + name + '"]:checked');
      return checked ? checked.value : '';
    }
    return input.value.trim();
  };

  /** Send a proposal; resolve with true when stored, else show the problems and resolve false. */
  Dialog.prototype.send = function (proposal) {
    var self = this;
    self.submit.disabled = true;
    self.status.textContent = _('Envoi en cours\u2026');
    return fetch(config.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(proposal)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        self.submit.disabled = false;
        self.status.textContent = '';
        if (response.ok) { return true; }
        var errors = (body.errors || []).map(function (e) { return { field: e.field, message: e.message }; });
        if (!errors.length) { errors = [{ field: null, message: body.detail || ('erreur ' + response.status) }]; }
        self.showErrors(errors);
        return false;
      });
    }, function () {
      self.submit.disabled = false;
      self.status.textContent = '';
      self.showErrors([{ field: null, message: 'le serveur ne répond pas ; vérifiez votre connexion et réessayez.' }]);
      return false;
    });
  };

  function required(dialog, names) {
    var missing = names.filter(function (n) { return !dialog.value(n); }).map(function (n) {
      return { field: n, message: _('à remplir') };
    });
    if (missing.length) { dialog.showErrors(missing, _('Il manque des informations :')); }
    return !missing.length;
  }

  /* ---------------------------------------------------------------- "Proposer un lieu" */

  function proposePlace(map, opener) {
    var intro = el('p', { class: 'essmap-contribute-intro', text: _('Votre proposition sera vérifiée par l\u2019équipe avant d\u2019apparaître sur la carte.') });
    var d = new Dialog(_('Proposer un lieu'), intro);
    var positions = [];
    if (lastClick) { positions.push({ value: 'click', label: _('Le point touché sur la carte') }); }
    positions.push({ value: 'centre', label: _('Le centre de la carte (déplacez la carte avant d\u2019ouvrir ce formulaire)') });
    positions.push({ value: 'none', label: _('Pas de position : l\u2019adresse suffit') });
    var radios = positions.map(function (p, k) {
      var id = uid('position');
      return el('div', { class: 'essmap-radio' }, [
        el('input', { type: 'radio', id: id, name: 'position', value: p.value, checked: k === 0 }),
        el('label', { for: id, text: p.label })
      ]);
    });
    d.body.appendChild(fieldset(_('Le lieu'), [
      field({ name: 'name', label: _('Nom du lieu'), required: true, maxlength: 200 }),
      field({ name: 'category', label: _('Type de lieu'), type: 'select', options: config.categories, required: true }),
      field({ name: 'description', label: _('Ce qu\u2019on y trouve'), type: 'textarea', maxlength: 2000 }),
      field({ name: 'schedule', label: _('Horaires'), hint: _('Par exemple : mar 17h-19h ; sam 9h-12h'), maxlength: 500 })
    ]));
    d.body.appendChild(fieldset(_('Où ?'), [
      field({ name: 'address', label: _('Adresse'), autocomplete: 'street-address', maxlength: 300 }),
      field({ name: 'commune', label: _('Commune'), maxlength: 200 }),
      el('fieldset', { class: 'essmap-radios' }, [el('legend', { text: _('Position sur la carte') })].concat(radios))
    ]));
    d.body.appendChild(fieldset(_('Contact du lieu (facultatif)'), [
      field({ name: 'website', label: _('Site web'), type: 'url', inputmode: 'url', maxlength: 300 }),
      field({ name: 'email', label: _('Courriel'), type: 'email', inputmode: 'email', maxlength: 200 }),
      field({ name: 'phone', label: _('Téléphone'), type: 'tel', inputmode: 'tel', maxlength: 50 })
    ]));
    d.body.appendChild(fieldset(_('Vous (facultatif)'), [
      field({ name: 'contact', label: _('Votre courriel ou téléphone'), hint: _('Pour que l\u2019équipe puisse vous répondre ; jamais publié.'), maxlength: 200 }),
      field({ name: 'message', label: _('Un commentaire pour l\u2019équipe'), type: 'textarea', maxlength: 2000 })
    ]));
    d.body.appendChild(honeypot());
    d.submit.textContent = _('Envoyer la proposition');
    d.form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!required(d, ['name', 'category'])) { return; }
      var properties = {};
      ['name', 'category', 'description', 'schedule', 'address', 'commune', 'website', 'email', 'phone'].forEach(function (n) {
        if (d.value(n)) { properties[n] = d.value(n); }
      });
      var where = d.value('position');
      var point = where === 'click' ? lastClick : where === 'centre' ? map.getCenter() : null;
      var geometry = point ? { type: 'Point', coordinates: [round6(point.lng), round6(point.lat)] } : null;
      if (point) { properties.location_precision = 'unknown'; properties.location_approximate = true; }
      d.send({
        kind: 'new', feature: { type: 'Feature', geometry: geometry, properties: properties },
        message: d.value('message') || null, contact: d.value('contact') || null, honeypot: d.value('honeypot') || null
      }).then(function (ok) {
        if (ok) { d.done(_('Merci ! Votre proposition a été envoyée. L\u2019équipe la vérifiera avant de la publier sur la carte.')); }
      });
    });
    d.open(opener);
    return d;
  }

  function round6(x) { return Math.round(x * 1e6) / 1e6; }

  /* ---------------------------------------------------------------- "Signaler une erreur" */

  var CORRECTABLE = ['name', 'address', 'commune', 'schedule', 'website', 'email', 'phone'];

  function reportError(actorId, actorName, opener) {
    var intro = el('p', { class: 'essmap-contribute-intro' }, [_('Fiche : '), el('strong', { text: actorName || actorId })]);
    var d = new Dialog(_('Signaler une erreur'), intro);
    d.body.appendChild(field({
      name: 'message', label: _('Qu\u2019est-ce qui est faux ou a changé ?'), type: 'textarea', required: true, maxlength: 2000,
      hint: _('Par exemple : le lieu a fermé, les horaires ont changé, l\u2019adresse est fausse.')
    }));
    var corrections = fieldset(_('Les bonnes informations (facultatif)'), CORRECTABLE.map(function (n) {
      return field({ name: n, label: config.fields[n] ? capitalise(config.fields[n]) : n, maxlength: n === 'schedule' ? 500 : 300 });
    }));
    var details = el('details', { class: 'essmap-corrections' }, [el('summary', { text: _('Proposer une correction de la fiche') }), corrections]);
    d.body.appendChild(details);
    d.body.appendChild(fieldset(_('Vous (facultatif)'), [
      field({ name: 'contact', label: _('Votre courriel ou téléphone'), hint: _('Pour que l\u2019équipe puisse vous répondre ; jamais publié.'), maxlength: 200 })
    ]));
    d.body.appendChild(honeypot());
    d.submit.textContent = _('Envoyer le signalement');
    var current = {};
    // the fields as published now, so that only what the person changes is proposed
    fetch(config.itemsUrl + '/' + encodeURIComponent(actorId), { headers: { Accept: 'application/geo+json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (feature) {
        if (!feature) { return; }
        current = feature.properties || {};
        CORRECTABLE.forEach(function (n) {
          var input = d.form.querySelector('[name="' + n + '"]');
          if (input && !input.value && current[n]) { input.value = current[n]; }
        });
      }).catch(function () { /* the report works without the current values */ });
    d.form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!required(d, ['message'])) { return; }
      var changed = {};
      CORRECTABLE.forEach(function (n) {
        var value = d.value(n);
        if (value !== (current[n] || '') ) { changed[n] = value || null; }
      });
      var proposal = { actor_id: actorId, message: d.value('message'), contact: d.value('contact') || null, honeypot: d.value('honeypot') || null };
      if (Object.keys(changed).length) {
        proposal.kind = 'change';
        proposal.feature = { properties: changed };
      } else {
        proposal.kind = 'report';
      }
      d.send(proposal).then(function (ok) {
        if (ok) { d.done(_('Merci ! Votre signalement a été envoyé. L\u2019équipe vérifiera la fiche.')); }
      });
    });
    d.open(opener);
    return d;
  }

  function capitalise(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  /* ---------------------------------------------------------------- wiring to the map */

  function addProposeButton(map) {
    var Control = L.Control.extend({
      options: { position: 'topleft' },
      onAdd: function () {
        var box = L.DomUtil.create('div', 'leaflet-bar essmap-contribute-control');
        var button = L.DomUtil.create('button', 'essmap-contribute-open', box);
        button.type = 'button';
        button.textContent = _('Proposer un lieu');
        button.title = _('Proposer un lieu qui manque sur la carte');
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.on(button, 'click', function () { proposePlace(map, button); });
        return box;
      }
    });
    new Control().addTo(map);
  }

  /** A message in the page's language (the config block carries the translations). */
  function _(message) {
    return (config && config.messages && config.messages[message]) || message;
  }

  function addReportButton(popupElement) {
    var holder = popupElement.querySelector('[data-actor-id]');
    if (!holder || holder.querySelector('.essmap-report-open')) { return; }
    var actorId = holder.getAttribute('data-actor-id');
    var title = holder.querySelector('.essmap-popup-title');
    var name = title ? title.textContent : actorId;
    var button = el('button', { type: 'button', class: 'essmap-link essmap-report-open', text: _('Signaler une erreur') });
    button.addEventListener('click', function () { reportError(actorId, name, button); });
    holder.appendChild(el('p', { class: 'essmap-report' }, [button]));
  }

  /** "Signaler une erreur" beside each actor of the list of actors without a location (their
   * address is what most needs a correction), whenever the list is drawn again. */
  function addUnlocatedReportButtons(root) {
    var items = root.querySelectorAll('.essmap-unlocated-list li[data-actor-id]');
    Array.prototype.forEach.call(items, function (item) {
      if (item.querySelector('.essmap-report-open')) { return; }
      var actorId = item.getAttribute('data-actor-id');
      var title = item.querySelector('strong');
      var name = title ? title.textContent : actorId;
      var button = el('button', { type: 'button', class: 'essmap-link essmap-report-open', text: _('Signaler une erreur') });
      button.setAttribute('aria-label', _('Signaler une erreur') + ' : ' + name);
      button.addEventListener('click', function () { reportError(actorId, name, button); });
      item.appendChild(el('p', { class: 'essmap-report' }, [button]));
    });
  }

  function setUp(map) {
    addProposeButton(map);
    var container = map.getContainer().parentNode || document.body;
    addUnlocatedReportButtons(container);
    new MutationObserver(function () { addUnlocatedReportButtons(container); })
      .observe(container, { childList: true, subtree: true });
    map.on('click', function (e) { lastClick = e.latlng; });
    map.on('popupopen', function (e) {
      var element = e.popup.getElement();
      var content = element && element.querySelector('.leaflet-popup-content');
      if (!content || !content.querySelector('[data-actor-id]') || content.querySelector('.essmap-report-open')) {
        return;
      }
      // the content moves into a node of its own, given back to the popup with the button added:
      // Leaflet then lays the popup out and pans it into view again at its new size
      var node = document.createElement('div');
      while (content.firstChild) { node.appendChild(content.firstChild); }
      addReportButton(node);
      e.popup.setContent(node);
    });
  }

  function start() {
    var block = document.getElementById('essmap-contribute-config');
    if (!block || typeof global.HTMLDialogElement !== 'function') { return; }
    config = JSON.parse(block.textContent);
    var waited = 0;
    (function wait() {
      if (global.essmapReady && global.essmapMap) { setUp(global.essmapMap); return; }
      if (global.essmapError || waited > 120000) { return; }
      waited += 100;
      setTimeout(wait, 100);
    })();
  }

  global.EssmapContribute = { proposePlace: proposePlace, reportError: reportError };
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})(window);
