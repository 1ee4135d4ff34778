import { describe, expect, it } from '@jest/globals';
import { composeText } from './platforms/platform.registry.js';
import {
  previewFor,
  renderedTextProblems,
  renderTemplate,
  renderText,
  TEMPLATE_VARIABLES,
  templateTextProblem,
  templateValues,
} from './template-text.js';

describe('template text', () => {
  it('accepts every variable, spaces inside the braces, and {{ }} as literal braces', () => {
    for (const name of TEMPLATE_VARIABLES) expect(templateTextProblem(`a {${name}} b`)).toBeNull();
    expect(templateTextProblem('{ prompt }')).toBeNull();
    expect(templateTextProblem('JSON: {{"a": 1}}')).toBeNull();
    expect(templateTextProblem('')).toBeNull();
    expect(renderText('{{prompt}} is {prompt}, }}{{', { prompt: 'P' })).toBe('{prompt} is P, }{');
  });

  it('refuses an unknown variable, naming it, and braces left open or unmatched', () => {
    expect(templateTextProblem('Hello {name}!')).toMatch(/Unknown variable "\{name\}"/);
    expect(templateTextProblem('{}')).toMatch(/Unknown variable "\{\}"/);
    expect(templateTextProblem('{PROMPT}')).toMatch(/Unknown variable/);
    expect(templateTextProblem('Hello {prompt')).toMatch(/Unclosed "\{" at character 7/);
    expect(templateTextProblem('{ {prompt}')).toMatch(/Unclosed/);
    expect(templateTextProblem('smile :}')).toMatch(/Unmatched "\}" at character 8/);
    expect(templateTextProblem('{__proto__}')).toMatch(/Unknown variable/);
    expect(templateTextProblem('{constructor}')).toMatch(/Unknown variable/);
  });

  it('leaves a variable without a value as written', () => {
    expect(renderText('{prompt} by {account}', { prompt: 'Sea' })).toBe('Sea by {account}');
  });

  it('gives date, English weekday and 24-hour time in the time zone, on both sides of a DST change', () => {
    // Paris: CET (+1) until 2027-03-28 01:00Z, then CEST (+2).
    const before = templateValues({
      at: new Date('2027-03-27T08:00:00Z'),
      timezone: 'Europe/Paris',
    });
    const after = templateValues({
      at: new Date('2027-03-28T07:00:00Z'),
      timezone: 'Europe/Paris',
    });
    expect(before).toMatchObject({ date: '2027-03-27', weekday: 'Saturday', time: '09:00' });
    expect(after).toMatchObject({ date: '2027-03-28', weekday: 'Sunday', time: '09:00' });
    // Autumn: CEST until 2027-10-31 01:00Z.
    const autumn = templateValues({
      at: new Date('2027-10-31T08:00:00Z'),
      timezone: 'Europe/Paris',
    });
    expect(autumn).toMatchObject({ date: '2027-10-31', weekday: 'Sunday', time: '09:00' });
    // A local date other than UTC's.
    const tokyo = templateValues({ at: new Date('2027-01-01T20:30:00Z'), timezone: 'Asia/Tokyo' });
    expect(tokyo).toMatchObject({ date: '2027-01-02', weekday: 'Saturday', time: '05:30' });
  });

  it('takes prompt, style and tags (as hashtags) from the image, and the account', () => {
    const values = templateValues({
      at: new Date('2027-01-01T00:00:00Z'),
      timezone: 'UTC',
      image: { prompt: 'A lighthouse', style: 'digital_art', tags: ['sea', 'golden hour', 'été!'] },
      account: 'Harbour Shots',
    });
    expect(values).toMatchObject({
      prompt: 'A lighthouse',
      style: 'digital art',
      tags: '#sea #goldenhour #été',
      account: 'Harbour Shots',
    });
  });

  it('uses the platform variant where it has one, the template elsewhere, and normalises hashtags', () => {
    const template = {
      caption: '{prompt} on {platform}',
      hashtags: '#a   {tags} ',
      variants: { twitter: { caption: 'X: {prompt}' }, linkedin: { hashtags: '' } },
    };
    const values = { prompt: 'Sea', tags: '#b #c' };
    expect(renderTemplate(template, 'instagram', values)).toEqual({
      caption: 'Sea on Instagram',
      hashtags: '#a #b #c',
    });
    expect(renderTemplate(template, 'twitter', values)).toEqual({
      caption: 'X: Sea',
      hashtags: '#a #b #c',
    });
    expect(renderTemplate(template, 'linkedin', values)).toEqual({
      caption: 'Sea on LinkedIn',
      hashtags: '',
    });
    expect(renderTemplate(template, null, values).caption).toBe('Sea on {platform}');
  });

  it('previews the whole published text as the publisher composes it, against the limit', () => {
    const rendered = { caption: 'c'.repeat(270), hashtags: '#abcdefgh' };
    const x = previewFor('twitter', rendered);
    expect(x.text).toBe(composeText(rendered.caption, rendered.hashtags));
    expect(x.text).toBe(`${'c'.repeat(270)}\n\n#abcdefgh`);
    expect(x).toMatchObject({ length: 281, limit: 280, fits: false });
    expect(previewFor('instagram', rendered)).toMatchObject({
      length: 281,
      limit: 2200,
      fits: true,
    });
    // X counts a URL as 23 and an emoji as 2.
    expect(
      previewFor('twitter', { caption: 'https://example.com/a/very/long/path 🌊', hashtags: '' })
        .length,
    ).toBe(26);
    // Instagram: at most 30 hashtags.
    const tags = Array.from({ length: 31 }, (_, i) => `#t${i}`).join(' ');
    expect(previewFor('instagram', { caption: 'x', hashtags: tags }).fits).toBe(false);
  });

  it('says why a rendered text cannot be stored or published', () => {
    expect(renderedTextProblems('facebook', { caption: 'x'.repeat(2201), hashtags: '' })).toEqual([
      'the rendered caption is longer than 2200 characters',
    ]);
    expect(
      renderedTextProblems('twitter', { caption: 'x'.repeat(281), hashtags: '' }),
    ).toHaveLength(1);
    expect(renderedTextProblems('twitter', { caption: 'fits', hashtags: '#ok' })).toEqual([]);
  });
});
