// Tests of the emoji dataset's split, clustering and caption rules (rules.js) on hand-made data:
// no npm packages, no network. Run by `make test` (node --test data/emoji/test_rules.js).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const R = require('./rules');

test('code points compare without the presentation selector', () => {
  assert.equal(R.normHex('0023-fe0f-20e3'), '0023-20E3');
  assert.equal(R.normHex('1F44B'), '1F44B');
  assert.equal(R.normHex('1f3f3_fe0f_200d_1f308'), '1F3F3-200D-1F308');
  assert.equal(R.stripFE0F('\u2764\uFE0F'), '\u2764');
});

test('slugs follow the icon sets\u2019 naming', () => {
  assert.equal(R.slugify('piñata'), 'pinata');
  assert.equal(R.slugify('woman’s hat'), 'womans-hat');
  assert.equal(R.slugify('flag: Côte d’Ivoire'), 'flag-cote-divoire');
  assert.equal(R.slugify('waving hand: medium-light skin tone'), 'waving-hand-medium-light-skin-tone');
  assert.equal(R.slugify('1st place medal'), '1st-place-medal');
  assert.equal(R.compact('admission-tickets'), 'admissiontickets');
  assert.deepEqual(R.nameRewrites('man-gesturing-no-2'), ['man-gesturing-no']);
  assert.deepEqual(R.nameRewrites('flag-for-canada'), ['flag-canada']);
  assert.deepEqual(R.nameRewrites('waving-hand-medium-dark'), ['waving-hand-medium-dark-skin-tone']);
  assert.deepEqual(R.nameRewrites('grinning-face'), []);
});

test('near-duplicate concepts share a cluster, distinct ones do not', () => {
  const names = new Set(['cat', 'cat face', 'dog', 'clown face', 'sun', 'sun with face', 'new moon', 'new moon face',
    'bus', 'oncoming bus', 'firefighter', 'man firefighter', 'woman firefighter', 'family', 'woman’s hat', 'man’s shoe']);
  const key = (n) => R.clusterKey(n, names);
  assert.equal(key('cat face'), 'cat');
  assert.equal(key('sun with face'), 'sun');
  assert.equal(key('new moon face'), 'new moon');
  assert.equal(key('oncoming bus'), 'bus');
  assert.equal(key('clown face'), 'clown face');  // "clown" is no emoji: stays
  assert.equal(key('man firefighter'), 'firefighter');
  assert.equal(key('woman firefighter'), 'firefighter');
  assert.equal(key('family: man, woman, boy'), 'family');
  assert.equal(key('man: beard'), 'beard');
  assert.equal(key('kiss: woman, man'), 'kiss');
  assert.equal(key('woman running: facing right'), 'running');
  assert.equal(key('flag: Japan'), 'flag: Japan');  // flags and keycaps are distinct emoji
  assert.equal(key('keycap: 1'), 'keycap: 1');
  assert.equal(key('women holding hands'), 'holding hands');
  assert.equal(key('woman and man holding hands'), 'holding hands');
  assert.equal(key('three o’clock'), 'clock face');
  assert.equal(key('eleven-thirty'), 'clock face');
  assert.equal(key('woman’s hat'), 'woman’s hat');  // a hat, not a gendered person
  assert.equal(key('man’s shoe'), 'man’s shoe');
});

test('every caption form names the emoji', () => {
  const e = { name: 'cat face', keywords: ['animal', 'cat', 'cat face', 'kitten'], group: 3, subgroup: 'animal-mammal' };
  const c = R.captions(e);
  assert.deepEqual(Object.keys(c), R.CAPTION_FORMS);
  assert.equal(c.name, 'cat face');
  assert.equal(c.sentence, 'an emoji of cat face.');
  assert.equal(c.keywords, 'cat face: animal, cat, kitten');
  assert.equal(c.groups, 'cat face (animals & nature, animal mammal)');
  assert.equal(R.captions({ ...e, keywords: ['cat face'] }).keywords, 'cat face');
  for (const v of Object.values(c)) assert.ok(!/[\t\n]/.test(v), 'a caption must fit one TSV field');
});

test('class folder names read back as the class names', () => {
  assert.equal(R.folderName('animals & nature'), 'animals_&_nature');
  assert.equal(R.folderName('1st place medal').replace(/_/g, ' '), '1st place medal');
  assert.throws(() => R.folderName('a/b'), /cannot be a folder name/);
  assert.throws(() => R.folderName('snake_case'), /cannot be a folder name/);
});

test('families: every set has one, Twemoji is its own, vendor lines stay together', () => {
  const fam = Object.fromEntries(R.SETS.map((s) => [s.set, s.family]));
  assert.equal(fam['twemoji'], 'twemoji');
  assert.equal(R.SETS.filter((s) => s.family === 'twemoji').length, 1);
  assert.equal(fam['noto'], fam['noto-v1']);
  assert.equal(fam['emojione'], fam['emojione-v1']);
  assert.equal(fam['fluent-emoji'], fam['fluent-emoji-flat']);
  assert.equal(fam['fluent-emoji'], fam['fluent-emoji-high-contrast']);
  assert.equal(R.SETS.length, 11);
});

test('the split check catches every broken rule', () => {
  const im = (family, split, cluster, tone = false) => ({ family, set: family, hex: cluster, cluster, split, tone });
  const ok = [im('google', 'train', 'cat'), im('twemoji', 'test', 'cat')];
  const concept = { classes: [{ name: 'cat', cluster: 'cat', testImages: [ok[1]] }] };
  R.verifySplit(ok, 'twemoji', concept);  // passes
  assert.throws(() => R.verifySplit([...ok, im('google', 'test', 'dog')], 'twemoji', concept), /test image from training family/);
  assert.throws(() => R.verifySplit([...ok, im('twemoji', 'train', 'dog')], 'twemoji', concept), /held-out family twemoji in training/);
  assert.throws(() => R.verifySplit([...ok, im('twemoji', 'test', 'cat', true)], 'twemoji', concept), /skin-tone variant in the test set/);
  assert.throws(() => R.verifySplit([ok[1]], 'twemoji', concept), /has no training image/);
  const empty = { classes: [{ name: 'cat', cluster: 'cat', testImages: [] }] };
  assert.throws(() => R.verifySplit(ok, 'twemoji', empty), /has no test image/);
  const twice = { classes: [concept.classes[0], concept.classes[0]] };
  assert.throws(() => R.verifySplit(ok, 'twemoji', twice), /not unique/);
});

test('training TSV rows carry the group and subgroup columns the header names', () => {
  const e = { name: 'cat face', keywords: [], group: 3, subgroup: 'animal-mammal' };
  assert.deepEqual(R.TSV_COLUMNS, ['path', 'caption', 'group', 'subgroup']);
  const row = R.tsvRow('png/noto/1F431.png', 'cat face', e).split('\t');
  assert.equal(row.length, R.TSV_COLUMNS.length);
  assert.deepEqual(row, ['png/noto/1F431.png', 'cat face', 'animals & nature', 'animal-mammal']);
  assert.throws(() => R.tsvRow('a.png', 'a\tb', e), /holds a tab/);
  assert.throws(() => R.tsvRow('a.png', 'cat', { ...e, subgroup: '' }), /is empty/);
  // Every group the build can write is a valid field.
  for (const g of Object.keys(R.GROUP_NAMES)) R.tsvRow('a.png', 'x', { ...e, group: Number(g) });
});
