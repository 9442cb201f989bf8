export default function NotFound() {
  return (
    <main>
      <section>
        <h1>Página não encontrada</h1>
        <p className="muted">Confira o link recebido do vendedor.</p>
      </section>
    </main>
  );
}
