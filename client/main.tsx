import { render } from 'solid-js/web';
import { App } from './App.tsx';
import './styles.css';
import './styles/shell.css';
import './styles/chat.css';
import './styles/admin.css';
import './styles/audit.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
render(() => <App />, root);
