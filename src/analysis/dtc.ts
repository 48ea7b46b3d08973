/**
 * OBD-II trouble codes → component and severity. Descriptions come from the generic SAE J2012 list
 * (`dtc_generic.csv`: code,description,type,system), loaded once at start-up. No public source assigns
 * a severity to a code: the keyword rules and the built-in table below are Pitwall's own judgement.
 */
import { readFileSync } from 'node:fs';
import type { Component } from '../core/telemetry.js';

export const DTC_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type DtcSeverity = (typeof DTC_SEVERITIES)[number];

export interface DtcInfo {
  code: string;
  description: string;
  /** null when the code concerns nothing Pitwall predicts (e.g. a network fault) */
  component: Component | null;
  severity: DtcSeverity;
}

export interface DtcCatalog {
  lookup(code: string): DtcInfo | null;
  readonly size: number;
  /** where the descriptions came from: a file path, or 'built-in' */
  readonly source: string;
}

/** The codes the simulator and rules rely on, so analysis works without the CSV. */
const BUILT_IN: readonly DtcInfo[] = [
  { code: 'P0115', description: 'Engine Coolant Temperature Sensor 1 Circuit', component: 'cooling', severity: 'medium' },
  { code: 'P0116', description: 'Engine Coolant Temperature Sensor 1 Circuit Range/Performance', component: 'cooling', severity: 'medium' },
  { code: 'P0117', description: 'Engine Coolant Temperature Sensor 1 Circuit Low', component: 'cooling', severity: 'medium' },
  { code: 'P0118', description: 'Engine Coolant Temperature Sensor 1 Circuit High', component: 'cooling', severity: 'medium' },
  { code: 'P0128', description: 'Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)', component: 'cooling', severity: 'medium' },
  { code: 'P0217', description: 'Engine Coolant Over Temperature Condition', component: 'cooling', severity: 'critical' },
  { code: 'P0218', description: 'Transmission Fluid Temperature Sensor A Over Temperature Condition', component: 'transmission', severity: 'high' },
  { code: 'P0520', description: 'Engine Oil Pressure Sensor/Switch A Circuit', component: 'engine_oil', severity: 'medium' },
  { code: 'P0521', description: 'Engine Oil Pressure Sensor/Switch A Range/Performance', component: 'engine_oil', severity: 'medium' },
  { code: 'P0522', description: 'Engine Oil Pressure Sensor/Switch A Low', component: 'engine_oil', severity: 'medium' },
  { code: 'P0523', description: 'Engine Oil Pressure Sensor/Switch A High', component: 'engine_oil', severity: 'medium' },
  { code: 'P0524', description: 'Engine Oil Pressure Too Low', component: 'engine_oil', severity: 'critical' },
  { code: 'P0562', description: 'System Voltage Low', component: 'battery', severity: 'high' },
  { code: 'P0563', description: 'System Voltage High', component: 'battery', severity: 'medium' },
  { code: 'P0711', description: 'Transmission Fluid Temperature Sensor A Circuit Range/Performance', component: 'transmission', severity: 'medium' },
  { code: 'P0A80', description: 'Replace Hybrid/EV Battery Pack', component: 'battery', severity: 'high' },
  { code: 'C0077', description: 'Low Tire Pressure', component: 'tyres', severity: 'high' },
  { code: 'C004A', description: 'Brake Lining Wear Sensor', component: 'brakes', severity: 'high' },
];

/** First match wins: oil pressure before cooling ("Piston Cooling Oil Pressure"), transmission before voltage. */
const COMPONENT_KEYWORDS: readonly [RegExp, Component][] = [
  [/\boil pressure\b|\bengine oil\b/i, 'engine_oil'],
  [/\btransmission\b|\bgearbox\b|\btransaxle\b/i, 'transmission'],
  [/\bcoolant\b|\bthermostat\b|\bradiator\b|\bcooling fan\b/i, 'cooling'],
  [/\bbattery\b|^system voltage|\bcharging system\b|\bgenerator\b|\balternator\b/i, 'battery'],
  [/\btire\b|\btyre\b/i, 'tyres'],
  [/\bbrake\b|\bbrake lining\b|\bpad\b/i, 'brakes'],
];

export function classifyDescription(code: string, description: string): Pick<DtcInfo, 'component' | 'severity'> {
  // Network (U) codes report a lost message between modules, not wear of the component named.
  const component = code.startsWith('U') ? null : (COMPONENT_KEYWORDS.find(([re]) => re.test(description))?.[1] ?? null);
  const sensorFault = /\bsensor\b|\bswitch\b|\bcircuit\b|\bmodule\b|\bcommunication\b/i.test(description);
  let severity: DtcSeverity = 'low';
  if (!sensorFault && /\bover ?temperature\b|\boverheat|\btoo low\b/i.test(description)) {
    severity = component === 'cooling' || component === 'engine_oil' ? 'critical' : 'high';
  } else if (!sensorFault && /\blow\b|\bdeterioration\b|\breplace\b|\bwear\b|\btoo high\b/i.test(description)) {
    severity = 'high';
  } else if (component !== null) {
    severity = 'medium';
  }
  return { component, severity };
}

/** Splits one CSV line (RFC 4180 quoting, `""` for a quote inside a quoted field). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(cur);
      cur = '';
    } else cur += ch;
  }
  fields.push(cur);
  return fields;
}

function catalogOf(entries: Map<string, DtcInfo>, source: string): DtcCatalog {
  return {
    lookup: (code) => entries.get(code.toUpperCase()) ?? null,
    size: entries.size,
    source,
  };
}

export function builtInDtcCatalog(): DtcCatalog {
  return catalogOf(new Map(BUILT_IN.map((d) => [d.code, d])), 'built-in');
}

/** Parses the generic DTC CSV text. The built-in entries override the keyword classification. */
export function parseDtcCsv(text: string, source = 'csv'): DtcCatalog {
  const entries = new Map<string, DtcInfo>();
  const lines = text.split(/\r?\n/);
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const [code, description] = parseCsvLine(line);
    if (!code || !description || !/^[PCBU][0-9A-F]{4}$/.test(code)) continue;
    entries.set(code, { code, description, ...classifyDescription(code, description) });
  }
  for (const d of BUILT_IN) entries.set(d.code, d);
  return catalogOf(entries, source);
}

export interface LoadDtcCatalogResult {
  catalog: DtcCatalog;
  /** why the CSV was not used, when the built-in table was returned instead */
  warning?: string;
}

/** Reads the CSV once (start-up); an unreadable file falls back to the built-in table with a warning. */
export function loadDtcCatalog(path: string | undefined, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): LoadDtcCatalogResult {
  if (!path) return { catalog: builtInDtcCatalog() };
  try {
    return { catalog: parseDtcCsv(read(path), path) };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { catalog: builtInDtcCatalog(), warning: `DTC catalog ${path} not loaded (${why}); using the built-in table` };
  }
}
