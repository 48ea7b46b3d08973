import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtInDtcCatalog, classifyDescription, loadDtcCatalog, parseCsvLine, parseDtcCsv } from './dtc.js';

/** The table Pitwall ships (data/dtc/SOURCE.md) and loads at start-up. */
const CSV = fileURLToPath(new URL('../../data/dtc/dtc_generic.csv', import.meta.url));

describe('DTC catalog', () => {
  it('parses quoted CSV fields with commas and doubled quotes', () => {
    expect(parseCsvLine('C1500,"Transfer Case Contact Plate ""B"" Encoder, Circuit",C,Chassis')).toEqual([
      'C1500',
      'Transfer Case Contact Plate "B" Encoder, Circuit',
      'C',
      'Chassis',
    ]);
  });

  it('maps descriptions to components, telling sensor faults from real conditions', () => {
    expect(classifyDescription('P0217', 'Engine Coolant Over Temperature Condition')).toEqual({ component: 'cooling', severity: 'critical' });
    expect(classifyDescription('P0522', 'Engine Oil Pressure Sensor/Switch A Low')).toEqual({ component: 'engine_oil', severity: 'medium' });
    expect(classifyDescription('P25AE', 'Piston Cooling Oil Pressure Too Low')).toEqual({ component: 'engine_oil', severity: 'critical' });
    expect(classifyDescription('P0300', 'Random/Multiple Cylinder Misfire Detected')).toEqual({ component: null, severity: 'low' });
    expect(classifyDescription('U0127', 'Lost Communication With Tire Pressure Monitor Module').component).toBeNull();
  });

  it('lets the built-in judgement override the keyword rules', () => {
    const cat = parseDtcCsv('code,description,type,system\nC004A,Brake Lining Wear Sensor,C,Chassis\nP0001,Fuel Volume Regulator A,P,Powertrain\n');
    expect(cat.lookup('C004A')).toMatchObject({ component: 'brakes', severity: 'high' });
    expect(cat.lookup('p0001')).toMatchObject({ component: null });
    expect(cat.lookup('P9999')).toBeNull();
  });

  it('falls back to the built-in table, with a warning, when the file cannot be read', () => {
    const r = loadDtcCatalog('/nonexistent/dtc.csv');
    expect(r.catalog.source).toBe('built-in');
    expect(r.warning).toMatch(/not loaded/);
    expect(r.catalog.lookup('P0524')).toMatchObject({ component: 'engine_oil', severity: 'critical' });
    expect(loadDtcCatalog(undefined).warning).toBeUndefined();
    expect(builtInDtcCatalog().size).toBeGreaterThan(10);
  });

  it('loads the generic SAE J2012 list it ships, 9 415 codes', () => {
    const r = loadDtcCatalog(CSV);
    expect(r.warning).toBeUndefined();
    expect(r.catalog.size).toBe(9415);
    expect(r.catalog.lookup('P0128')).toMatchObject({ component: 'cooling' });
    expect(r.catalog.lookup('C0077')).toMatchObject({ component: 'tyres', severity: 'high' });
  });
});
