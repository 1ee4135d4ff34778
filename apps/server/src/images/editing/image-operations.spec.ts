import { describe, expect, it } from '@jest/globals';
import { FieldValidationError } from '@app/common';
import { aspectBox, parseOperations } from './image-operations.js';
import { fittedSize } from './platform-fit.js';
import { resizedSize, watermarkSvg } from './image-pipeline.js';

/** The `errors` of the 400 that parsing `raw` throws. */
function errorsOf(raw: unknown): Record<string, string[]> {
  try {
    parseOperations(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(FieldValidationError);
    return (error as FieldValidationError).errors as Record<string, string[]>;
  }
  throw new Error('expected a 400');
}

describe('parseOperations', () => {
  it('takes every operation of the contract, with defaults filled in', () => {
    expect(
      parseOperations([
        { op: 'crop', x: 0, y: 0, width: 10, height: 10 },
        { op: 'crop', aspect: '1.91:1' },
        { op: 'resize', width: 100 },
        { op: 'rotate', degrees: 270 },
        { op: 'flip' },
        { op: 'flop' },
        { op: 'grayscale' },
        { op: 'sepia' },
        { op: 'blur', sigma: 0.3 },
        { op: 'sharpen' },
        { op: 'modulate', hue: -90 },
        { op: 'watermark', text: 'Hi 🌅' },
        { op: 'preset', name: 'x' },
      ]),
    ).toEqual([
      { op: 'crop', x: 0, y: 0, width: 10, height: 10 },
      { op: 'crop', aspect: '1.91:1', focus: 'center' },
      { op: 'resize', width: 100, fit: 'inside' },
      { op: 'rotate', degrees: 270 },
      { op: 'flip' },
      { op: 'flop' },
      { op: 'grayscale' },
      { op: 'sepia' },
      { op: 'blur', sigma: 0.3 },
      { op: 'sharpen' },
      { op: 'modulate', hue: -90 },
      { op: 'watermark', text: 'Hi 🌅', position: 'southeast', opacity: 0.5 },
      { op: 'preset', name: 'x' },
    ]);
  });

  it.each([
    [[{ op: 'flip' }, { op: 'warp' }], 'operations[1]', /unknown operation "warp"/],
    [[{ op: 'blur', sigma: 51 }], 'operations[0]', /^blur: sigma must be between 0.3 and 50/],
    [[{ op: 'resize', fit: 'cover' }], 'operations[0]', /^resize: give a width/],
    [[{ op: 'resize', width: 20_000 }], 'operations[0]', /^resize: width/],
    [[{ op: 'crop', x: 1.5, y: 0, width: 2, height: 2 }], 'operations[0]', /whole number/],
    [[{ op: 'crop', aspect: '2:1' }], 'operations[0]', /^crop: aspect must be one of/],
    [[{ op: 'modulate' }], 'operations[0]', /^modulate: give brightness/],
    [[{ op: 'watermark', text: 'a\ud800' }], 'operations[0]', /not valid Unicode/],
    [[{ op: 'watermark', text: 'a\nb' }], 'operations[0]', /control characters/],
    [[{ op: 'watermark', text: '   ' }], 'operations[0]', /blank/],
    [
      [JSON.parse('{"op":"flip","__proto__":{"x":1}}')],
      'operations[0]',
      /unknown field "__proto__"/,
    ],
    [[null], 'operations[0]', /object/],
    [Array(21).fill({ op: 'flip' }), 'operations', /At most 20/],
  ])('refuses %j naming %s', (raw, field, message) => {
    const errors = errorsOf(raw);
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field][0]).toMatch(message);
  });
});

describe('sizes', () => {
  it('finds the largest box of an aspect', () => {
    expect(aspectBox('1:1', 300, 100)).toEqual({ width: 100, height: 100 });
    expect(aspectBox('4:5', 1000, 1000)).toEqual({ width: 800, height: 1000 });
    expect(aspectBox('16:9', 1000, 1000)).toEqual({ width: 1000, height: 563 });
  });

  it('computes resized sizes as sharp makes them', () => {
    expect(resizedSize(40, 20, { width: 20, height: 20, fit: 'inside' })).toEqual({
      width: 20,
      height: 10,
    });
    expect(resizedSize(40, 20, { width: 20, height: 20, fit: 'cover' })).toEqual({
      width: 20,
      height: 20,
    });
    expect(resizedSize(40, 20, { height: 5, fit: 'inside' })).toEqual({ width: 10, height: 5 });
  });

  it('fits a picture into Instagram’s 4:5 to 1.91:1, and leaves one that fits', () => {
    expect(fittedSize('instagram', 1080, 1920)).toEqual({ width: 1080, height: 1350 });
    expect(fittedSize('instagram', 300, 100)).toEqual({ width: 191, height: 100 });
    expect(fittedSize('instagram', 1080, 1350)).toBeNull();
    expect(fittedSize('instagram', 1910, 1000)).toBeNull();
    expect(fittedSize('twitter', 300, 100)).toBeNull();
  });
});

describe('watermarkSvg', () => {
  it('escapes the text and anchors it at the compass point', () => {
    const svg = watermarkSvg('<b>&"\'', 'northwest', 0.5, 200, 100);
    expect(svg).toContain('&lt;b&gt;&amp;&quot;&apos;');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('text-anchor="start"');
    expect(watermarkSvg('x', 'east', 1, 200, 100)).toContain('text-anchor="end"');
    expect(watermarkSvg('x', 'center', 1, 200, 100)).toContain('text-anchor="middle"');
  });
});
