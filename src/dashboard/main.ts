/** The dashboard's entry point, bundled by scripts/build-dashboard.mjs. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { h, render } from 'preact';
import { App } from './app.ts';

render(h(App, null), document.getElementById('app')!);
