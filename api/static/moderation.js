/*
 * essmap moderation page: lists the public's proposals through the API with a moderator's key
 * (typed by the moderator, kept in this tab's sessionStorage) and accepts or refuses them.
 * A proposal to change an actor shows each field that differs from the current record.
 */
(function () {
  'use strict';

  var STORAGE = 'essmapModeratorKey';
  var KINDS = { new: 'Nouveau lieu', change: 'Correction', report: 'Signalement' };
  var STATUSES = { pending: 'en attente', accepted: 'acceptée', refused: 'refusée' };
  var dateFr = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === 'text') { node.textContent = value; } else { node.setAttribute(name, value === true ? '' : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null) { node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child); }
    });
    return node;
  }

  function key() { return sessionStorage.getItem(STORAGE); }

  function say(text) { $('error').textContent = ''; $('message').textContent = text; }

  function fail(text) { $('message').textContent = ''; $('error').textContent = text; }

  function api(method, path, body) {
    var headers = { Accept: 'application/json', Authorization: 'Bearer ' + key() };
    if (body) { headers['Content-Type'] = 'application/json'; }
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) { return data; }
          if (response.status === 401 || response.status === 403) { signOut(); }
          var error = new Error(data.detail || ('erreur ' + response.status));
          error.status = response.status;
          throw error;
        });
      });
  }

  function differencesTable(p, titleId) {
    if (!p.differences.length) { return null; }
    var isNew = p.kind === 'new';
    var rows = p.differences.map(function (d) {
      return el('tr', {}, [
        el('th', { scope: 'row', text: d.label || d.field }),
        // the server gives each value for people: labels of codes, oui / non, « lon ; lat »
        isNew ? null : el('td', { class: 'before', text: d.before_text }),
        el('td', { class: 'after', text: d.after_text })
      ]);
    });
    var head = [el('th', { scope: 'col', text: 'Champ' })];
    if (!isNew) { head.push(el('th', { scope: 'col', text: 'Fiche actuelle' })); }
    head.push(el('th', { scope: 'col', text: 'Proposé' }));
    return el('table', { class: 'differences', 'aria-describedby': titleId }, [
      el('caption', { text: isNew ? 'Fiche proposée' : 'Ce que la proposition change' }),
      el('thead', {}, [el('tr', {}, head)]),
      el('tbody', {}, rows)
    ]);
  }

  function title(p) {
    var name = (p.record && p.record.name) || (p.current && p.current.name) || p.actor_id || '';
    return KINDS[p.kind] + (name ? ' : ' + name : '');
  }

  function card(p) {
    var titleId = 'proposal-' + p.id;
    var item = el('li', { class: 'proposal', 'data-proposal-id': p.id });
    var meta = 'Reçue le ' + dateFr.format(new Date(p.created_at)) + ' · ' + STATUSES[p.status] +
      (p.decided_by ? ' par ' + p.decided_by : '') + ' · n° ' + p.id;
    var parts = [
      el('h3', { id: titleId, text: title(p) }),
      el('p', { class: 'meta', text: meta })
    ];
    if (p.kind !== 'new' && !p.current) {
      parts.push(el('p', { class: 'warning', text: 'L\u2019acteur « ' + p.actor_id + ' » n\u2019existe plus.' }));
    }
    if (p.message) { parts.push(el('blockquote', { class: 'message' }, [el('p', { text: p.message })])); }
    if (p.contact) { parts.push(el('p', { class: 'contact', text: 'Contact (non publié) : ' + p.contact })); }
    parts.push(differencesTable(p, titleId));
    if (p.note) { parts.push(el('p', { class: 'note', text: 'Note : ' + p.note })); }
    if (p.status === 'pending') {
      var noteId = 'note-' + p.id;
      var accept = el('button', { type: 'button', class: 'accept', text: 'Accepter' });
      var refuse = el('button', { type: 'button', class: 'refuse', text: 'Refuser' });
      accept.setAttribute('aria-describedby', titleId);
      refuse.setAttribute('aria-describedby', titleId);
      parts.push(el('div', { class: 'decision' }, [
        el('label', { for: noteId, text: 'Note de modération (facultative)' }),
        el('textarea', { id: noteId, rows: 2, maxlength: 2000 }),
        el('div', { class: 'buttons' }, [accept, refuse])
      ]));
      accept.addEventListener('click', function () { decide(p, true, item); });
      refuse.addEventListener('click', function () { decide(p, false, item); });
    }
    parts.forEach(function (part) { if (part) { item.appendChild(part); } });
    return item;
  }

  function decide(p, accept, item) {
    var note = item.querySelector('textarea').value.trim();
    Array.prototype.forEach.call(item.querySelectorAll('button'), function (b) { b.disabled = true; });
    api('POST', '/proposals/' + encodeURIComponent(p.id) + '/' + (accept ? 'accept' : 'refuse'), note ? { note: note } : null)
      .then(function () {
        var next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        say((accept ? 'Proposition acceptée : ' : 'Proposition refusée : ') + title(p) +
          (accept ? ' (publiée sur la carte).' : '.'));
        var focus = next ? next.querySelector('button, h3') : $('status');
        if (focus) { if (focus.tagName === 'H3') { focus.tabIndex = -1; } focus.focus(); }
        count();
      })
      .catch(function (error) {
        Array.prototype.forEach.call(item.querySelectorAll('button'), function (b) { b.disabled = false; });
        fail('La décision n\u2019a pas été enregistrée : ' + error.message);
      });
  }

  function count() {
    var n = $('proposals').children.length;
    $('count').textContent = n ? n + ' proposition' + (n > 1 ? 's' : '') : 'Aucune proposition.';
  }

  function load() {
    var status = $('status').value;
    say('Chargement des propositions\u2026');
    return api('GET', '/proposals?status=' + encodeURIComponent(status)).then(function (data) {
      var list = $('proposals');
      list.textContent = '';
      data.proposals.forEach(function (p) { list.appendChild(card(p)); });
      $('login').hidden = true;
      $('queue').hidden = false;
      count();
      say(data.proposals.length + ' proposition(s) chargée(s).');
    }).catch(function (error) { fail('Impossible de lire les propositions : ' + error.message); });
  }

  function signOut() {
    sessionStorage.removeItem(STORAGE);
    $('queue').hidden = true;
    $('login').hidden = false;
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('key-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var value = $('key').value.trim();
      if (!value) { fail('Saisissez votre clé de modérateur.'); $('key').focus(); return; }
      sessionStorage.setItem(STORAGE, value);
      $('key').value = '';
      load().then(function () { if (!$('queue').hidden) { $('queue-title').tabIndex = -1; $('queue-title').focus(); } });
    });
    $('filter').addEventListener('submit', function (ev) { ev.preventDefault(); load(); });
    $('logout').addEventListener('click', function () {
      signOut();
      say('Clé oubliée.');
      $('key').focus();
    });
    if (key()) { load(); }
  });
})();
