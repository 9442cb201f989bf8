// ProductPicker.tsx - choose one of the member's products (for the pages
// whose objects hang off a product: coupons, co-producers).
import { useEffect } from 'react';
import { useLoad } from '../hooks';
import { Select } from '../ui';

export function ProductPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const products = useLoad<{ data: { id: string; name: string }[] }>('/api/v1/products?limit=100');
  const list = products.data?.data ?? [];
  useEffect(() => {
    if (!value && list.length) onChange(list[0].id);
  }, [value, list, onChange]);
  if (products.data && list.length === 0) return <p>Crie um produto primeiro.</p>;
  return <Select label="Produto" name="product" options={list.map((p) => [p.id, p.name])} value={value} onChange={(e) => onChange(e.target.value)} />;
}
