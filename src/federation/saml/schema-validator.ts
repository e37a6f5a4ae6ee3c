/**
 * XML schema validation for inbound SAML messages: libxml2's xmllint compiled to WebAssembly
 * (xmllint-wasm), against the SAML 2.0 protocol schema and the schemas it imports (xsd/). A real
 * validator: a message with an unknown element, a missing required attribute or a wrong type is refused.
 * It runs in a worker thread with only the schemas and the message in its file system, and `--nonet`,
 * so nothing is fetched. samlify calls it (setSchemaValidator) before it looks at any signature.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateXML } from 'xmllint-wasm';

/** The repository's src/federation/saml/xsd, from src/ or dist/src/ alike (tsc does not copy .xsd files). */
const XSD_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../../src/federation/saml/xsd/' : './xsd/', import.meta.url));

const ROOT_SCHEMA = 'saml-schema-protocol-2.0.xsd';
const IMPORTED = ['saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'XMLSchema.dtd', 'datatypes.dtd'];

export class SchemaInvalidError extends Error {}

export type SamlSchemaValidator = { validate(xml: string): Promise<string> };

export function createSamlSchemaValidator(): SamlSchemaValidator {
  // read once: the files are part of the release
  const read = (fileName: string) => ({ fileName, contents: readFileSync(`${XSD_DIR}${fileName}`, 'utf8') });
  const schema = read(ROOT_SCHEMA);
  const preload = IMPORTED.map(read);
  return {
    async validate(xml) {
      const result = await validateXML({
        xml: [{ fileName: 'message.xml', contents: xml }],
        extension: 'schema',
        schema: [schema],
        preload,
        modifyArguments: (args) => ['--nonet', ...args],
      });
      if (!result.valid) {
        // the first error names the element and the rule; it stays in the log (FederationRefusedError detail)
        throw new SchemaInvalidError(`schema validation failed: ${result.errors[0]?.message ?? 'invalid XML'}`);
      }
      return 'SUCCESS_VALIDATE_XML';
    },
  };
}
