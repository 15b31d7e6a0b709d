import { render } from 'solid-js/web';
import { App } from './App.tsx';
// Order matters (later rules win at equal specificity): the layers first, then each area.
import './styles/base.css';
import './styles/forms.css';
import './styles/pages.css';
import './styles/badges.css';
import './styles/account.css';
import './styles/components.css';
import './styles/markdown.css';
import './styles/small-screens.css';
import './styles/detectors.css';
import './styles/shell.css';
import './styles/chat.css';
import './styles/admin.css';
import './styles/audit.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
render(() => <App />, root);
