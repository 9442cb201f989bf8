// Form pieces: every input has its <label>, and its error sits right beside it.
import type { ChangeEvent, ReactNode } from 'react';

interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  error?: string;
  type?: 'text' | 'email' | 'tel';
  inputMode?: 'text' | 'numeric' | 'email' | 'tel';
  autoComplete?: string;
  placeholder?: string;
  maxLength?: number;
}

export function TextField(p: TextFieldProps) {
  const errorId = `${p.id}-error`;
  return (
    <div className="field">
      <label htmlFor={p.id}>{p.label}</label>
      <input
        id={p.id}
        name={p.id}
        type={p.type || 'text'}
        inputMode={p.inputMode}
        autoComplete={p.autoComplete}
        placeholder={p.placeholder}
        maxLength={p.maxLength}
        value={p.value}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={p.error ? errorId : undefined}
        onChange={(e: ChangeEvent<HTMLInputElement>) => p.onChange(e.target.value)}
        onBlur={p.onBlur}
      />
      {p.error ? <FieldError id={errorId}>{p.error}</FieldError> : null}
    </div>
  );
}

export function FieldError({ id, children }: { id?: string; children: ReactNode }) {
  return (
    <span className="error" id={id} role="alert">
      {children}
    </span>
  );
}

/** A copy button for a code; says "Copiado!" once the text is copied. */
export function CopyButton({ text, label, onCopied }: { text: string; label: string; onCopied: () => void }) {
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      onCopied();
      return;
    } catch {
      // no clipboard permission: fall back to a selection copy
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try {
      document.execCommand('copy');
      onCopied();
    } catch {
      // the code stays visible for a manual copy
    }
    document.body.removeChild(area);
  }
  return (
    <button type="button" onClick={() => void copy()}>
      {label}
    </button>
  );
}
