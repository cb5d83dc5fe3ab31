import { DOMParser } from '@xmldom/xmldom';
import { SamlRefusal } from './saml-refusal';

export const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';

const ELEMENT_NODE = 1;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;

/**
 * Parses untrusted XML strictly: a document type declaration (entities, XXE) or any parser error or
 * warning refuses it, so no two parsers can disagree about what the document says.
 */
export function parseStrictXml(xml: string, what: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new SamlRefusal('malformed', `the ${what} carries a document type declaration, which is refused`);
  }
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: (message: string) => problems.push(message),
      error: (message: string) => problems.push(message),
      fatalError: (message: string) => problems.push(message),
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) {
    throw new SamlRefusal('malformed', `the ${what} is not well-formed XML`);
  }
  return doc;
}

/** Every element below (and including) `root`, in document order. */
export function allElements(root: Node): Element[] {
  const out: Element[] = [];
  const walk = (node: Node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === ELEMENT_NODE) {
        out.push(child as Element);
        walk(child);
      }
    }
  };
  if (root.nodeType === ELEMENT_NODE) out.push(root as Element);
  walk(root);
  return out;
}

/** Whether the document holds a comment or processing instruction anywhere (prolog included). */
export function hasCommentOrInstruction(doc: Document): { comment: boolean; instruction: boolean } {
  let comment = false;
  let instruction = false;
  const walk = (node: Node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === COMMENT_NODE) comment = true;
      else if (child.nodeType === PROCESSING_INSTRUCTION_NODE && child.nodeName !== 'xml') instruction = true;
      else if (child.nodeType === ELEMENT_NODE) walk(child);
    }
  };
  walk(doc);
  return { comment, instruction };
}

export function childElements(parent: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType !== ELEMENT_NODE) continue;
    const element = child as Element;
    if (element.namespaceURI === ns && element.localName === localName) out.push(element);
  }
  return out;
}

export function childElement(parent: Node, ns: string, localName: string): Element | undefined {
  return childElements(parent, ns, localName)[0];
}

/** The element's text, all text nodes joined (comments can never split what is read). */
export function textOf(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  let text = '';
  const walk = (node: Node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3 || child.nodeType === 4) text += child.nodeValue ?? '';
      else if (child.nodeType === ELEMENT_NODE) walk(child);
    }
  };
  walk(element);
  return text.trim();
}

export function attributeOf(element: Element | undefined, name: string): string | undefined {
  if (!element || !element.hasAttribute(name)) return undefined;
  return element.getAttribute(name) ?? undefined;
}
