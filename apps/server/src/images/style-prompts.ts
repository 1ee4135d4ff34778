import type { ImageStyle } from '@app/database';

/** The suffix each style adds to the prompt, as the original defined them. */
export const STYLE_SUFFIXES: Record<ImageStyle, string> = {
  realistic: 'photorealistic, high quality, detailed, 8k resolution',
  artistic: 'artistic, creative, expressive, masterpiece',
  cartoon: 'cartoon style, animated, colorful, vibrant',
  abstract: 'abstract art, modern, conceptual, unique',
  vintage: 'vintage style, retro, classic, nostalgic',
  minimalist: 'minimalist, simple, clean design, elegant',
  anime: 'anime style, manga, japanese animation',
  digital_art: 'digital art, concept art, trending on artstation',
};

export function promptWithStyle(prompt: string, style: ImageStyle): string {
  return `${prompt.trim()}, ${STYLE_SUFFIXES[style]}`;
}
