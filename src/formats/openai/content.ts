/**
 * OpenAI content parts → Anthropic content blocks (user and tool messages).
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 * https://docs.anthropic.com/en/docs/build-with-claude/vision
 * https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
 */
import type { CacheControl } from '../anthropic/types.ts';
import { hasText, invalid, isObject, isSet, type Obj } from '../fields.ts';
import { fileBlock, imageBlock, type UserBlock } from '../media.ts';

/**
 * A message's `content`: a string or an array of parts. Whitespace-only text is dropped (the API
 * rejects it); the caller decides what an empty result means.
 */
export function contentBlocks(content: unknown, param: string): UserBlock[] {
  if (!isSet(content)) return [];
  if (typeof content === 'string') return hasText(content) ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw invalid(param, 'must be a string or an array of content parts.');
  const out: UserBlock[] = [];
  for (let j = 0; j < content.length; j++) {
    const block = partBlock(content[j], `${param}[${j}]`);
    if (block) out.push(block);
  }
  return out;
}

function partBlock(part: unknown, param: string): UserBlock | undefined {
  if (typeof part === 'string') return hasText(part) ? { type: 'text', text: part } : undefined;
  if (!isObject(part)) throw invalid(param, 'must be a content part object.');
  const block = convertPart(part, param);
  // Some clients (OpenRouter style) mark cache breakpoints on parts; Anthropic honours the same field.
  if (block && isObject(part.cache_control) && part.cache_control.type === 'ephemeral') {
    const ttl = part.cache_control.ttl;
    const mark: CacheControl = { type: 'ephemeral' };
    if (ttl === '5m' || ttl === '1h') mark.ttl = ttl;
    block.cache_control = mark;
  }
  return block;
}

function convertPart(part: Obj, param: string): UserBlock | undefined {
  switch (part.type) {
    case 'text': {
      if (typeof part.text !== 'string') throw invalid(`${param}.text`, 'must be a string.');
      return hasText(part.text) ? { type: 'text', text: part.text } : undefined;
    }
    case 'image_url': {
      // The spec nests the URL in an object; a few clients send the string itself.
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof url !== 'string' || url === '') throw invalid(`${param}.image_url.url`, 'must be a URL.');
      return imageBlock(url, `${param}.image_url.url`);
    }
    case 'file':
      return fileBlock(part.file, `${param}.file`);
    case 'input_audio':
      throw invalid(
        param,
        'audio input (input_audio) is not supported: Claude reads text, images and PDF files.',
      );
    default:
      throw invalid(`${param}.type`, `content part type '${String(part.type)}' is not supported.`);
  }
}
