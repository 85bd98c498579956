// Jest's module loader cannot require ESM-only packages (plain Node >= 20.19 can). The only such
// package in the test graph is uuid 14, which thrift (under the Milvus SDK's Parquet writer) loads
// at require time for parse/stringify; the connectors never write Parquet. This stand-in gives
// those functions from node:crypto, so the SDK itself loads unchanged.
const { randomUUID } = require('node:crypto');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function validate(text) {
  return typeof text === 'string' && UUID.test(text);
}

function parse(text) {
  if (!validate(text)) throw new TypeError('Invalid UUID');
  return Uint8Array.from(Buffer.from(text.replace(/-/g, ''), 'hex'));
}

function stringify(bytes, offset = 0) {
  const hex = Buffer.from(bytes.slice(offset, offset + 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

module.exports = { v4: () => randomUUID(), parse, stringify, validate, NIL: '00000000-0000-0000-0000-000000000000' };
