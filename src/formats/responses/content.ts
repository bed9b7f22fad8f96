/**
 * Responses content parts → Anthropic content blocks: message content (`input_text`, `input_image`,
 * `input_file`, and `output_text`/`refusal` in replayed assistant messages) and function call outputs.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 */
import type { TextBlock } from '../anthropic/types.ts';
import { hasText, invalid, isObject, isSet, type Obj } from '../fields.ts';
import { fileBlock, imageBlock, type UserBlock } from '../media.ts';

/**
 * Content: a string (one text block) or parts, each converted by `part`. Whitespace-only text is
 * dropped (the API rejects it); the caller decides what an empty result means.
 */
function blocksOf<B>(
  content: unknown,
  param: string,
  part: (p: Obj, at: string) => B | undefined,
): Array<B | TextBlock> {
  if (typeof content === 'string') return hasText(content) ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw invalid(param, 'must be a string or an array of content parts.');
  const out: Array<B | TextBlock> = [];
  for (let j = 0; j < content.length; j++) {
    const at = `${param}[${j}]`;
    const p = content[j];
    if (!isObject(p)) throw invalid(at, 'must be a content part object.');
    const block = part(p, at);
    if (block) out.push(block);
  }
  return out;
}

/** User content: `input_text`, `input_image` and `input_file` parts. */
export function userBlocks(content: unknown, param: string): UserBlock[] {
  return blocksOf(content, param, userPart);
}

function userPart(part: Obj, param: string): UserBlock | undefined {
  switch (part.type) {
    case 'input_text':
    case 'text':
      return textOf(part.text, `${param}.text`);
    case 'input_image': {
      if (typeof part.image_url === 'string' && part.image_url !== '')
        return imageBlock(part.image_url, `${param}.image_url`);
      if (isSet(part.file_id)) throw fileStorage(`${param}.file_id`);
      throw invalid(`${param}.image_url`, 'is required (an http(s) URL or a data: URL).');
    }
    case 'input_file': {
      if (typeof part.file_url === 'string' && part.file_url !== '') {
        if (!part.file_url.startsWith('https://') && !part.file_url.startsWith('http://'))
          throw invalid(`${param}.file_url`, 'must be an http(s) URL.');
        // Anthropic fetches PDFs by URL itself.
        return { type: 'document', source: { type: 'url', url: part.file_url } };
      }
      if (isSet(part.file_id) && !isSet(part.file_data)) throw fileStorage(`${param}.file_id`);
      return fileBlock(part, param);
    }
    case 'input_audio':
      throw invalid(
        param,
        'audio input (input_audio) is not supported: Claude reads text, images and PDF files.',
      );
    default:
      throw invalid(`${param}.type`, `content part type '${String(part.type)}' is not supported here.`);
  }
}

/** System and developer content: text only. */
export function instructionBlocks(content: unknown, param: string): TextBlock[] {
  return blocksOf(content, param, (part, at) => {
    if (part.type !== 'input_text' && part.type !== 'text') {
      throw invalid(`${at}.type`, 'system and developer messages may only contain input_text parts.');
    }
    return textOf(part.text, `${at}.text`);
  });
}

/** A replayed assistant message: `output_text` (and `refusal`) parts, or a string. */
export function assistantBlocks(content: unknown, param: string): TextBlock[] {
  return blocksOf(content, param, (part, at) => {
    if (part.type === 'output_text' || part.type === 'input_text' || part.type === 'text')
      return textOf(part.text, `${at}.text`);
    if (part.type === 'refusal') return textOf(part.refusal, `${at}.refusal`);
    throw invalid(`${at}.type`, `'${String(part.type)}' parts are not supported in assistant messages.`);
  });
}

/** A function call's `output`: a string, or input_text / input_image / input_file parts. */
export function outputBlocks(output: unknown, param: string): string | UserBlock[] | undefined {
  if (typeof output === 'string') return hasText(output) ? output : undefined;
  const blocks = userBlocks(output, param);
  return blocks.length ? blocks : undefined;
}

function textOf(text: unknown, param: string): TextBlock | undefined {
  if (typeof text !== 'string') throw invalid(param, 'must be a string.');
  return hasText(text) ? { type: 'text', text } : undefined;
}

function fileStorage(param: string) {
  return invalid(param, "refers to OpenAI's file storage, which ccproxy cannot read: send the file inline.");
}
